#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Fails when the module graph has a cycle, or an adapter reaches into the daemon.

A module is a .c/.h pair with one name (daemon/config.c and daemon/config.h are the
module "config"). "x.c or x.h includes y.h" is an edge x -> y. The rules:

  1. no cycle between modules (a module including its own header is not one);
  2. no file under adapters/ includes config.h, or any daemon header outside the low
     floor that docs/design.md's module map allows adapters to use.

Usage: check-layers.py [--map] [ROOT]   (ROOT defaults to the repository of this script)
Exit 0 when the graph is clean, 1 with one line per violation otherwise. --map prints
the module map of docs/design.md instead (floors, and what each module uses), which
the tests compare with the one in that file.
"""

import os
import re
import sys

# What adapters/ may include from daemon/: the low-level helpers (docs/design.md).
ADAPTER_MAY_USE = {"util", "log", "fetch", "redact", "jsplit", "cfgopt", "period", "netaddr"}

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
DIRS = ("daemon", "adapters")


def modules(root):
    """{module: (dir, [files])} for every .c/.h under DIRS (generated headers excluded)."""
    mods = {}
    for d in DIRS:
        base = os.path.join(root, d)
        if not os.path.isdir(base):
            continue
        for name in sorted(os.listdir(base)):
            stem, ext = os.path.splitext(name)
            if ext not in (".c", ".h"):
                continue
            if stem in mods and mods[stem][0] != d:
                raise SystemExit("check-layers: module %s is in both %s/ and %s/"
                                 % (stem, mods[stem][0], d))
            mods.setdefault(stem, (d, []))[1].append(os.path.join(base, name))
    return mods


def edges(mods, root):
    """{module: {module it includes: first file:line that does}}."""
    out = {}
    for mod, (_, files) in mods.items():
        deps = out.setdefault(mod, {})
        for path in files:
            text = open(path, encoding="utf-8").read()
            for m in INCLUDE.finditer(text):
                target = os.path.splitext(os.path.basename(m.group(1)))[0]
                if target == mod or target not in mods:
                    continue  # its own header, or a generated one (version.h)
                line = text.count("\n", 0, m.start()) + 1
                deps.setdefault(target, "%s:%d" % (os.path.relpath(path, root), line))
    return out


def find_cycles(graph):
    """Every elementary cycle found by a DFS, each once, as a list of modules."""
    cycles, seen = [], set()
    state = {}  # 1 = on the stack, 2 = done
    stack = []

    def visit(u):
        state[u] = 1
        stack.append(u)
        for v in sorted(graph.get(u, {})):
            if state.get(v) == 1:
                cyc = stack[stack.index(v):] + [v]
                key = frozenset(cyc)
                if key not in seen:
                    seen.add(key)
                    cycles.append(cyc)
            elif state.get(v) is None:
                visit(v)
        stack.pop()
        state[u] = 2

    for u in sorted(graph):
        if state.get(u) is None:
            visit(u)
    return cycles


def check(root):
    mods = modules(root)
    graph = edges(mods, root)
    problems = []
    for cyc in find_cycles(graph):
        where = ", ".join("%s (%s)" % (a + " -> " + b, graph[a][b]) for a, b in zip(cyc, cyc[1:]))
        problems.append("include cycle: %s: %s" % (" -> ".join(cyc), where))
    for mod, (d, _) in sorted(mods.items()):
        if d != "adapters":
            continue
        for target, where in sorted(graph[mod].items()):
            if mods[target][0] == "daemon" and target not in ADAPTER_MAY_USE:
                problems.append("%s: adapter module %s includes %s.h from daemon/, above the "
                                "floor adapters may use" % (where, mod, target))
    return problems, len(mods), sum(len(v) for v in graph.values())


def floors(graph):
    """Floor 0 uses no other module; floor n uses at least one module of floor n-1."""
    memo = {}

    def floor(m, seen=()):
        if m not in memo:
            deps = [d for d in graph.get(m, {}) if d not in seen]
            memo[m] = 1 + max((floor(d, seen + (m,)) for d in deps), default=-1)
        return memo[m]

    return {m: floor(m) for m in graph}


def module_map(root):
    """The Markdown table of docs/design.md: one row per module, lowest floor first."""
    mods = modules(root)
    graph = edges(mods, root)
    fl = floors(graph)
    rows = ["| floor | module | uses |", "|---|---|---|"]
    for m in sorted(mods, key=lambda m: (fl[m], mods[m][0], m)):
        uses = ", ".join(sorted(graph[m], key=lambda d: (fl[d], d))) or "—"
        rows.append("| %d | `%s/%s` | %s |" % (fl[m], mods[m][0], m, uses))
    return "\n".join(rows) + "\n"


def main():
    args = sys.argv[1:]
    want_map = "--map" in args
    args = [a for a in args if a != "--map"]
    root = args[0] if args else os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if want_map:
        sys.stdout.write(module_map(root))
        return 0
    problems, nmods, nedges = check(root)
    for p in problems:
        print("check-layers: " + p)
    if problems:
        return 1
    print("check-layers: %d modules, %d include edges, no cycle, adapters stay on their floor"
          % (nmods, nedges))
    return 0


if __name__ == "__main__":
    sys.exit(main())
