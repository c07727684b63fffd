#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The docs stay true: README's option table is what the binary prints, the README
opens with the two commands, every metric family the daemon can emit is documented
in docs/metrics.md, every docs/X.md (and "X.md §N") cited in the sources exists, the
links between Markdown files resolve, and the example configuration passes
--check-config."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


# Files that may cite the docs, and directories never scanned (build trees, VCS).
CITING_EXT = (".c", ".h", ".py", ".sql", ".sh", ".md", ".txt", ".cmake", ".yml", ".in",
              ".example", ".5", ".8")
SKIP_DIRS = {".git", "node_modules", "__pycache__"}

# "docs/feeds.md", "feeds.md", "[api.md](api.md)": a lowercase X.md, bare or under docs/.
DOC_CITE = re.compile(r"(?<![A-Za-z0-9_.-])((?:[A-Za-z0-9_.-]+/)*)([a-z][a-z0-9_-]*)\.md\b")
# What may follow a citation before its section: "feeds.md §1-3", "`docs/feeds.md` §1–3",
# "feeds.md sections 1-3", "[feeds.md §1](...)", "[`docs/feeds.md`](...) §1–3".
SECTION_AFTER = re.compile(r"[`*\]]*(?:\([^)\s]*\))?[`*]*,?\s*(?:§\s*|sections?\s+)(\d+)"
                           r"(?:\s*(?:[-–]|to|and)\s*§?\s*(\d+))?")
BARE_SECTION = re.compile(r"§\s*(\d+)(?:\s*[-–]\s*(\d+))?")
MD_LINK = re.compile(r"\]\(([^)\s]+)\)")


def scanned_files(root):
    for d, dirs, files in os.walk(root):
        dirs[:] = [x for x in dirs if x not in SKIP_DIRS and not x.startswith("build")]
        for f in files:
            if f.endswith(CITING_EXT):
                yield os.path.join(d, f)


def numbered_sections(path):
    """The N of every "## N. Title" (or "## §N. Title") heading of a Markdown file."""
    text = open(path, encoding="utf-8").read()
    return {int(n) for n in re.findall(r"^#{1,6}\s+(?:§\s*)?(\d+)\.\s", text, re.M)}


def anchors(path):
    """GitHub's anchors for the headings of a Markdown file."""
    out = set()
    for title in re.findall(r"^#{1,6}\s+(.*?)\s*#*\s*$", open(path, encoding="utf-8").read(), re.M):
        slug = re.sub(r"[^\w\- ]", "", title.lower()).replace(" ", "-")
        out.add(slug)
    return out


def check_citations(c):
    """Every docs/X.md cited anywhere exists, with every section it is cited for; every
    relative Markdown link resolves, anchor included."""
    docs = os.path.join(harness.SRC, "docs")
    for path in scanned_files(harness.SRC):
        rel = os.path.relpath(path, harness.SRC)
        try:
            text = open(path, encoding="utf-8").read()
        except UnicodeDecodeError:
            continue
        own = None  # a docs page: its bare "§N" cite itself
        if os.path.dirname(os.path.abspath(path)) == os.path.abspath(docs) and path.endswith(".md"):
            own = os.path.basename(path)
        cited_spans = []
        for m in DOC_CITE.finditer(text):
            prefix, name = m.group(1), m.group(2) + ".md"
            if prefix and not prefix.endswith("docs/"):
                continue  # some other directory's file, not a citation of the docs
            target = os.path.join(docs, name)
            if not c.check(os.path.isfile(target), "%s: the cited docs/%s exists" % (rel, name)):
                continue
            s = SECTION_AFTER.match(text, m.end())
            if s:
                cited_spans.append((s.start(), s.end()))
                lo, hi = int(s.group(1)), int(s.group(2) or s.group(1))
                have = numbered_sections(target)
                for n in range(lo, hi + 1):
                    c.check(n in have, "%s: the cited docs/%s §%d exists" % (rel, name, n))
        if own:
            have = numbered_sections(path)
            for s in BARE_SECTION.finditer(text):
                if any(a <= s.start() < b for a, b in cited_spans):
                    continue
                lo, hi = int(s.group(1)), int(s.group(2) or s.group(1))
                for n in range(lo, hi + 1):
                    c.check(n in have, "docs/%s: its own §%d, cited, exists" % (own, n))
        if not path.endswith(".md"):
            continue
        for m in MD_LINK.finditer(text):
            link = m.group(1)
            if re.match(r"^[a-z][a-z0-9+.-]*:", link):
                continue  # http:, https:, mailto:
            target, _, anchor = link.partition("#")
            tpath = path
            if target:
                tpath = os.path.normpath(os.path.join(os.path.dirname(path), target))
            if not c.check(os.path.exists(tpath), "%s: the link %s resolves" % (rel, link)):
                continue
            if anchor and tpath.endswith(".md"):
                c.check(anchor in anchors(tpath),
                        "%s: the anchor of the link %s exists" % (rel, link))


def main():
    c = harness.Checker("docs")
    readme = open(os.path.join(harness.SRC, "README.md"), encoding="utf-8").read()
    ref = subprocess.run([harness.ONESTOPD, "--print-config-reference"], check=True,
                         capture_output=True, text=True).stdout
    c.check(ref in readme, "README's option table matches --print-config-reference "
                           "(run scripts/update-readme.sh)")
    block = re.search(r"```sh\n(.*?)```", readme, re.S)
    lines = [l for l in block.group(1).splitlines() if l.strip()] if block else []
    c.check(len(lines) >= 2 and lines[0].startswith("bash scripts/demo.sh")
            and lines[1].startswith("bash scripts/test.sh"),
            "README's first code block opens with the demo and test commands")

    # Every family name that metrics.c can write is documented.
    src = open(os.path.join(harness.SRC, "daemon", "metrics.c"), encoding="utf-8").read()
    families = set(re.findall(r'"(onestop_[a-z_]+)"', src))
    doc = open(os.path.join(harness.SRC, "docs", "metrics.md"), encoding="utf-8").read()
    c.check(len(families) > 20, "found the families in metrics.c (%d)" % len(families))
    for fam in sorted(families):
        c.check(fam in doc, "docs/metrics.md documents %s" % fam)
        c.check(fam in readme, "README lists %s" % fam)

    check_citations(c)

    # The shipped example configuration is valid once its secret files exist.
    work = tempfile.mkdtemp(prefix="onestop-docs-")
    example = open(os.path.join(harness.SRC, "systemd", "onestopd.conf.example"), encoding="utf-8").read()
    for name in set(re.findall(r"^\s*\w+_file\s*=\s*(\S+)", example, re.M)):
        path = os.path.join(work, os.path.basename(name))
        with open(path, "w") as f:
            f.write("x\n")
    conf = os.path.join(work, "onestopd.conf")
    with open(conf, "w", encoding="utf-8") as f:
        f.write(example)
    p = subprocess.run([harness.ONESTOPD, "-c", conf, "--check-config"], capture_output=True,
                       text=True, env=dict(os.environ, CREDENTIALS_DIRECTORY=work))
    c.eq(p.returncode, 0, "example config passes --check-config: %s" % p.stderr.strip())
    c.done()


if __name__ == "__main__":
    main()
