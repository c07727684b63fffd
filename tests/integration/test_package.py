#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""The install layout and the Debian package: the generated unit passes
`systemd-analyze verify` and scores <= 2.0 on `systemd-analyze security`, the unit and
the example configuration agree on the credentials, the example passes --check-config,
and `cpack -G DEB` builds a package with the expected files, Depends, conffiles and
maintainer scripts that start nothing, and that on purge forget an operator's
`systemctl enable` the way debhelper's do (run against a $DPKG_ROOT)."""

import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402

BUILD = os.environ.get("ONESTOP_BUILD", os.path.join(harness.SRC, "build"))
MAX_EXPOSURE = 2.0
RUNTIME_LIBS = ("libpq5", "libcurl4", "libjansson4", "libmicrohttpd12", "libutf8proc2")


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, **kw)


def unit_settings(text):
    """key -> [values] of the unit file, comments skipped."""
    out = {}
    for line in text.splitlines():
        line = line.strip()
        if not line or line[0] in "#;[" or "=" not in line:
            continue
        k, v = line.split("=", 1)
        out.setdefault(k.strip(), []).append(v.strip())
    return out


def stage_install(c, dest):
    env = dict(os.environ, DESTDIR=dest)
    p = run(["cmake", "--install", BUILD], env=env)
    c.check(p.returncode == 0, "cmake --install: %s" % (p.stdout + p.stderr)[-2000:])
    return p.returncode == 0


def check_unit(c, work, stage, unit_path, settings):
    exec_start = settings.get("ExecStart", [""])[0].split()
    binary, conf = exec_start[0], exec_start[exec_start.index("--config") + 1]
    c.check(os.access(stage + binary, os.X_OK), "ExecStart binary %s is installed" % binary)
    c.check(os.path.isfile(stage + conf), "the --config file %s is installed" % conf)
    c.eq(settings.get("Type"), ["notify"], "Type=notify")
    for key, want in (("WatchdogSec", "120s"), ("Restart", "on-failure"), ("DynamicUser", "yes"),
                      ("ProtectSystem", "strict"), ("CapabilityBoundingSet", "")):
        c.eq(settings.get(key, [None])[0], want, key)
    c.check("78" in " ".join(settings.get("RestartPreventExitStatus", [])).split(),
            "RestartPreventExitStatus has 78 (EX_CONFIG)")

    # verify needs ExecStart to exist here, so it checks a copy aimed at the staged
    # binary; MANPATH lets it find the staged man pages that Documentation= names.
    copy = os.path.join(work, "onestopd.service")
    with open(copy, "w") as f:
        f.write(open(unit_path).read().replace("ExecStart=" + binary, "ExecStart=" + stage + binary))
    argv = ["systemd-analyze", "verify"]
    env = dict(os.environ, MANPATH=stage + "/usr/share/man" if os.path.isdir(stage + "/usr/share/man")
               else stage)
    if not shutil.which("man"):
        print("package: man is not installed; verify runs with --man=no", flush=True)
        argv.append("--man=no")
    p = run(argv + [copy], env=env)
    c.check(p.returncode == 0 and not (p.stdout + p.stderr).strip(),
            "systemd-analyze verify is clean: rc=%d %s" % (p.returncode, p.stdout + p.stderr))

    p = run(["systemd-analyze", "security", "--offline=yes", copy])
    m = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", p.stdout)
    if m is None:
        print("package: NOTE: systemd-analyze cannot score the unit offline here (%s); "
              "exposure not checked" % (p.stdout + p.stderr).strip()[-300:], flush=True)
    else:
        score = float(m.group(1))
        print("package: systemd-analyze security --offline=yes onestopd.service: %.1f" % score,
              flush=True)
        c.check(score <= MAX_EXPOSURE, "exposure %.1f <= %.1f" % (score, MAX_EXPOSURE))
    return binary, conf


def check_config(c, work, stage, conf, settings):
    """The example config passes --check-config once the secret files the unit loads
    exist, both as systemd passes them and as an administrator reads them by hand."""
    creds = {}
    for v in settings.get("LoadCredential", []):
        ident, _, path = v.partition(":")
        creds[ident] = path
    text = open(stage + conf).read()
    named = set(re.findall(r"^\s*\w+_file\s*=\s*(\S+)", text, re.M))
    c.eq(named, set(creds), "the config's *_file names = the unit's LoadCredential= ids")
    c.check(all(os.path.dirname(p) == os.path.dirname(conf) for p in creds.values()),
            "credentials are loaded from the config's directory: %r" % creds)

    credsdir = os.path.join(work, "credentials")
    os.mkdir(credsdir)
    etc = os.path.join(work, "etc")
    os.mkdir(etc)
    shutil.copy(stage + conf, os.path.join(etc, "onestopd.conf"))
    for ident in creds:
        for d in (credsdir, etc):
            with open(os.path.join(d, ident), "w") as f:
                f.write("not-a-real-secret\n")
            os.chmod(os.path.join(d, ident), 0o600)
    exe = harness.ONESTOPD
    p = run([exe, "--config", os.path.join(etc, "onestopd.conf"), "--check-config"],
            env=dict(os.environ, CREDENTIALS_DIRECTORY=credsdir))
    c.eq(p.returncode, 0, "example config with $CREDENTIALS_DIRECTORY: %s" % p.stderr.strip())
    env = dict(os.environ)
    env.pop("CREDENTIALS_DIRECTORY", None)
    p = run([exe, "--config", os.path.join(etc, "onestopd.conf"), "--check-config"], env=env)
    c.eq(p.returncode, 0, "example config with the secrets beside it: %s" % p.stderr.strip())
    os.unlink(os.path.join(etc, sorted(creds)[0]))
    p = run([exe, "--config", os.path.join(etc, "onestopd.conf"), "--check-config"], env=env)
    c.eq(p.returncode, 78, "a missing secret file is a configuration error")


def check_deb(c, work, binary, conf, unit_path):
    out = os.path.join(work, "deb")
    p = run(["cpack", "-G", "DEB", "-B", out, "--config", os.path.join(BUILD, "CPackConfig.cmake")],
            cwd=BUILD)
    debs = [f for f in os.listdir(out) if f.endswith(".deb")] if os.path.isdir(out) else []
    if not c.check(p.returncode == 0 and len(debs) == 1,
                   "cpack -G DEB made one .deb: %s" % (p.stdout + p.stderr)[-3000:]):
        return
    deb = os.path.join(out, debs[0])
    c.check(re.fullmatch(r"onestopd_[0-9][^_]*_[a-z0-9]+\.deb", debs[0]) is not None,
            "package file name %s" % debs[0])

    listing = run(["dpkg", "-c", deb]).stdout
    files = {line.split()[-1].lstrip(".") for line in listing.splitlines() if line.strip()}
    unit_dir = [f for f in files if f.endswith("/lib/systemd/system/onestopd.service")]
    for want in (binary, conf):
        c.check(want in files, "dpkg -c lists %s" % want)
    c.check(len(unit_dir) == 1, "dpkg -c lists lib/systemd/system/onestopd.service")
    c.check(any(re.search(r"/share/man/man8/onestopd\.8(\.gz)?$", f) for f in files), "man 8 page")
    c.check(any(re.search(r"/share/man/man5/onestopd\.conf\.5(\.gz)?$", f) for f in files), "man 5 page")
    c.check(any(f.endswith("/share/doc/onestopd/README.md") for f in files), "README in doc dir")
    c.check(any(f.endswith("/share/doc/onestopd/onestopd.conf.example") for f in files),
            "example config in doc dir")
    c.check(not any("onestop-bench" in f or "/test_" in f for f in files),
            "no benchmark or test program in the package")
    if binary == "/usr/bin/onestopd":  # the default prefix: Debian's own paths
        c.eq(conf, "/etc/onestopd/onestopd.conf", "config path with prefix /usr")

    def field(name):
        return run(["dpkg-deb", "-f", deb, name]).stdout.strip()
    c.eq(field("Package"), "onestopd", "Package")
    c.eq(field("Section"), "admin", "Section")
    c.eq(field("Maintainer"), "Provincial IT Center <it@example.gov.vn>", "Maintainer")
    c.check("postgresql-15" in field("Recommends"), "Recommends postgresql-15")
    depends = field("Depends")
    print("package: Depends: %s" % depends, flush=True)
    names = {d.strip().split()[0] for d in depends.split(",") if d.strip()}
    for lib in RUNTIME_LIBS:
        c.check(lib in names, "Depends has %s (%s)" % (lib, depends))

    ctrl = os.path.join(work, "control")
    run(["dpkg-deb", "-e", deb, ctrl])
    c.eq(open(os.path.join(ctrl, "conffiles")).read().split(), [conf], "conffiles")
    info = run(["dpkg-deb", "-I", deb]).stdout
    c.check("conffiles" in info, "dpkg-deb -I shows conffiles")
    # Installing, upgrading or removing the package must start or enable nothing.
    forbidden = re.compile(r"\b(start|restart|try-restart|reload-or-restart|enable|--now)\b")
    for script in ("postinst", "prerm", "postrm"):
        path = os.path.join(ctrl, script)
        if not c.check(os.path.exists(path), "%s present" % script):
            continue
        c.check(os.access(path, os.X_OK), "%s is executable" % script)
        c.eq(run(["sh", "-n", path]).returncode, 0, "%s parses" % script)
        code = [l for l in open(path).read().splitlines() if not l.strip().startswith("#")]
        bad = [l for l in code if forbidden.search(l)]
        c.check(not bad, "%s starts or enables nothing: %r" % (script, bad))
        body = "\n".join(code)
        c.check(not re.search(r"systemctl|deb-systemd-invoke", body) or "[ -d /run/systemd/system ]" in body,
                "%s calls systemctl only when systemd runs" % script)
    prerm = open(os.path.join(ctrl, "prerm")).read()
    c.check(re.search(r"remove \| deconfigure\)", prerm) and "stop onestopd.service" in prerm,
            "prerm stops the service on remove/deconfigure only")
    c.check("daemon-reload" in open(os.path.join(ctrl, "postinst")).read(), "postinst reloads systemd")

    for script in ("postinst", "postrm"):
        text = open(os.path.join(ctrl, script)).read()
        c.check(re.search(r"command -v deb-systemd-helper", text) is not None,
                "%s calls deb-systemd-helper only where it is installed" % script)
    c.check("deb-systemd-helper purge onestopd.service" in open(os.path.join(ctrl, "postrm")).read(),
            "postrm purges the unit's deb-systemd-helper state")

    # The unit inside the package is the one verified above.
    x = os.path.join(work, "x")
    run(["dpkg-deb", "-x", deb, x])
    c.eq(open(x + unit_dir[0]).read() if unit_dir else None, open(unit_path).read(),
         "packaged unit = generated unit")
    if unit_dir:
        script_lifecycle(c, work, ctrl, unit_path, unit_dir[0])


def script_lifecycle(c, work, ctrl, unit_path, unit_rel):
    """install, `systemctl enable` by the operator, remove, purge: the scripts run with
    DPKG_ROOT pointing at a scratch tree, as dpkg --root would run them. After the purge
    nothing of the unit is left in /etc/systemd or deb-systemd-helper's state."""
    helper = shutil.which("deb-systemd-helper")
    if not helper:
        print("package: deb-systemd-helper not installed; lifecycle not run", flush=True)
        return
    if os.path.isdir("/run/systemd/system"):
        # The scripts would daemon-reload the systemd of this machine.
        print("package: systemd runs here; lifecycle not run", flush=True)
        return
    root = os.path.join(work, "root")
    env = dict(os.environ, DPKG_ROOT=root, DPKG_MAINTSCRIPT_PACKAGE="onestopd",
               DPKG_MAINTSCRIPT_NAME="postinst")
    unit = root + unit_rel
    os.makedirs(os.path.dirname(unit))
    shutil.copy(unit_path, unit)

    def script(name, *args):
        e = dict(env, DPKG_MAINTSCRIPT_NAME=name)
        p = run(["sh", os.path.join(ctrl, name)] + list(args), env=e)
        c.eq(p.returncode, 0, "%s %s exits 0: %s" % (name, " ".join(args), p.stderr))

    etc = os.path.join(root, "etc", "systemd", "system")
    wants = os.path.join(etc, "multi-user.target.wants", "onestopd.service")
    mask = os.path.join(etc, "onestopd.service")
    state = os.path.join(root, "var", "lib", "systemd")

    script("postinst", "configure")
    c.check(not os.path.lexists(wants), "postinst enables nothing")
    os.makedirs(os.path.dirname(wants))
    os.symlink(unit_rel, wants)  # what `systemctl enable onestopd` does
    os.makedirs(os.path.join(root, "var", "lib", "private", "onestopd"))

    os.unlink(unit)  # dpkg removes the files before postrm remove
    script("postrm", "remove")
    c.check(os.path.islink(mask) and os.readlink(mask) == "/dev/null",
            "postrm remove masks the unit, as debhelper does")
    script("postrm", "purge")
    c.check(not os.path.lexists(wants), "postrm purge removes the operator's enable link")
    c.check(not os.path.lexists(mask), "postrm purge unmasks the unit")
    c.check(not os.path.exists(os.path.join(root, "var", "lib", "private", "onestopd")),
            "postrm purge removes the state directory under DPKG_ROOT")
    left = [os.path.join(d, f) for d, _, fs in os.walk(state) for f in fs if "onestopd" in f]
    c.check(not left, "no deb-systemd-helper state left after purge: %r" % left)

    # A reinstall after a remove (no purge) lifts the mask again.
    shutil.copy(unit_path, unit)
    script("postinst", "configure")
    os.unlink(unit)
    script("postrm", "remove")
    shutil.copy(unit_path, unit)
    script("postinst", "configure")
    c.check(not os.path.lexists(mask), "postinst unmasks what postrm remove masked")


def main():
    c = harness.Checker("package")
    work = tempfile.mkdtemp(prefix="onestop-pkg-")
    try:
        unit_path = os.path.join(BUILD, "onestopd.service")
        if not c.check(os.path.isfile(unit_path), "generated unit %s exists" % unit_path):
            c.done()
        settings = unit_settings(open(unit_path).read())
        stage = os.path.join(work, "stage")
        if stage_install(c, stage):
            binary, conf = check_unit(c, work, stage, unit_path, settings)
            check_config(c, work, stage, conf, settings)
            check_deb(c, work, binary, conf, unit_path)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    c.done()


if __name__ == "__main__":
    main()
