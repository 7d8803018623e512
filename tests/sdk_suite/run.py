"""Run the aperturedb SDK's own test suite against the emulator (issue 9's conformance bar).

    .venv/bin/python -m tests.sdk_suite.run [-k EXPR] [--keep] [pytest args...]

1. downloads the sdist of the installed `aperturedb` version from PyPI (cached in
   build/sdk_suite/, the only download) and unpacks its test/ folder into a fresh work dir;
2. writes stand-ins for the suite's input files (inputs.py), its conftest.py (sdk_conftest.py)
   and dbinfo.py pointing at the emulator;
3. starts the emulator as a subprocess with TLS on a free port, certificate from a generated CA;
4. runs the suite with pytest (each `db` test over TCP and over TLS), minus the tests named in
   deselected.py, and prints passed/failed/skipped/deselected per test file.

Exit status: 0 when no test outside deselected.py failed or errored, 1 otherwise.
"""
import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tarfile
import threading
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from importlib.metadata import version
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(REPO))

from aperturedb_emulator.tls import generate_self_signed  # noqa: E402
from tests.sdk_suite import inputs  # noqa: E402
from tests.sdk_suite.deselected import DESELECTED  # noqa: E402

CACHE = REPO / "build" / "sdk_suite"
RUN_TIMEOUT = 30 * 60  # the whole pytest run; CI must not hang on a stuck process
OUTCOMES = ("passed", "failed", "error", "skipped", "deselected")


def sdist(ver):
    """The cached sdist of aperturedb==ver, downloaded with pip when missing."""
    dest = CACHE / "sdist"
    found = sorted(dest.glob(f"aperturedb-{ver}.tar.gz"))
    if not found:
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary",
                        ":all:", f"aperturedb=={ver}", "-d", str(dest)], check=True)
        found = sorted(dest.glob(f"aperturedb-{ver}.tar.gz"))
    return found[0]


def unpack_tests(archive, workdir):
    """Extract `<sdist>/test/*` into workdir (replaced on every run)."""
    if workdir.exists():
        shutil.rmtree(workdir)
    workdir.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            parts = Path(member.name).parts
            if len(parts) >= 3 and parts[1] == "test" and member.isfile():
                target = workdir.joinpath(*parts[2:])
                target.parent.mkdir(parents=True, exist_ok=True)
                with tar.extractfile(member) as src, open(target, "wb") as dst:
                    shutil.copyfileobj(src, dst)


def start_emulator(workdir):
    """Emulator subprocess with TLS on a free port; returns (process, port, ca_path)."""
    cert, key = generate_self_signed(("localhost", "127.0.0.1"))
    ca = workdir / "ca.pem"
    ca.write_text(cert)
    (workdir / "server.key").write_text(key)
    proc = subprocess.Popen([sys.executable, "-m", "aperturedb_emulator", "--host", "127.0.0.1",
                             "--port", "0", "--tls", "--cert", str(ca), "--key", str(workdir / "server.key")],
                            cwd=REPO, stdout=subprocess.PIPE, text=True)
    line = proc.stdout.readline()  # "ApertureDB emulator listening on 127.0.0.1:PORT (tls=True)"
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"emulator did not start: {line!r}")
    port = int(line.split("listening on ")[1].split()[0].rsplit(":", 1)[1])
    threading.Thread(target=proc.stdout.read, daemon=True).start()  # a full pipe would block it
    return proc, port, ca


def write_dbinfo(workdir, port, ca):
    (workdir / "dbinfo.py").write_text(
        '"""Where the suite finds the server: the emulator started by tests/sdk_suite/run.py."""\n'
        'DB_TCP_HOST = "127.0.0.1"\n'
        f"DB_TCP_PORT = {port}\n"
        'DB_REST_HOST = "127.0.0.1"  # no REST gateway: REST tests are deselected\n'
        "DB_REST_PORT = 443\n"
        'DB_USER = "admin"\n'
        'DB_PASSWORD = "admin"\n'
        f"CA_CERT = {str(ca)!r}\n"
        "VERIFY_HOSTNAME = True\n")


def test_functions(path):
    """`file::[Class::]test_name` for each test function defined in a test file (by AST, no import)."""
    tree = ast.parse(path.read_text())
    names = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name.startswith("test"):
            names.append(f"{path.name}::{node.name}")
        elif isinstance(node, ast.ClassDef) and node.name.startswith("Test"):
            names += [f"{path.name}::{node.name}::{f.name}" for f in node.body
                      if isinstance(f, ast.FunctionDef) and f.name.startswith("test")]
    return names


def deselection(workdir):
    """Write deselected.json for the conftest; --ignore a file whose every test function is listed
    (such a file may not even import, e.g. without torch). Returns (pytest args, ignored files)."""
    (workdir / "deselected.json").write_text(json.dumps(DESELECTED, indent=1))
    listed = set(DESELECTED)
    ignored = [p.name for p in sorted(workdir.glob("test_*.py"))
               if (funcs := test_functions(p)) and all(f in listed for f in funcs)]
    return [f"--ignore={name}" for name in ignored], ignored


def report(junit, workdir, ignored):
    """Per-file counts from the junit XML and deselected-report.json; returns failed/errored ids."""
    counts = defaultdict(Counter)
    bad = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        classname = case.get("classname", "")
        module = classname.split(".")[0] if classname else case.get("name", "?")
        outcome = "passed"
        for child in case:
            if child.tag in ("failure", "error"):
                outcome = "failed" if child.tag == "failure" else "error"
            elif child.tag == "skipped" and outcome == "passed":
                outcome = "skipped"
        counts[module + ".py"][outcome] += 1
        if outcome in ("failed", "error"):
            bad.append("::".join(filter(None, [module + ".py", ".".join(classname.split(".")[1:]),
                                               case.get("name") if classname else None])))
    report_file = workdir / "deselected-report.json"
    dropped = json.loads(report_file.read_text()) if report_file.exists() else {}
    for node_id in dropped:
        counts[node_id.split("::")[0]]["deselected"] += 1
    print(f"\n{'SDK test file':34}" + "".join(f"{o:>11}" for o in OUTCOMES))
    total = Counter()
    for fname in sorted(counts):
        total.update(counts[fname])
        print(f"{fname:34}" + "".join(f"{counts[fname][o]:>11}" for o in OUTCOMES))
    print(f"{'total':34}" + "".join(f"{total[o]:>11}" for o in OUTCOMES))
    not_imported = Counter(n.split("::")[0] for n in DESELECTED if n.split("::")[0] in ignored)
    for fname, n in sorted(not_imported.items()):
        print(f"{fname:34} not imported: all {n} test functions deselected")
    reasons = Counter(dropped.values())
    if reasons:
        print("\ndeselected tests by reason:")
        for reason, n in reasons.most_common():
            print(f"{n:5}  {reason}")
    reasons = Counter(DESELECTED[n] for n in DESELECTED if n.split("::")[0] in ignored)
    if reasons:
        print("\ntest functions of files not imported, by reason:")
        for reason, n in reasons.most_common():
            print(f"{n:5}  {reason}")
    return bad


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--keep", action="store_true", help="keep the work dir (build/sdk_suite/run-VERSION-PID) for inspection")
    args, pytest_args = ap.parse_known_args(argv)

    ver = version("aperturedb")
    archive = sdist(ver)
    workdir = CACHE / f"run-{ver}-{os.getpid()}"  # concurrent runs do not share files
    unpack_tests(archive, workdir)
    shutil.copy(HERE / "sdk_conftest.py", workdir / "conftest.py")
    (workdir / "pytest.ini").write_text("[pytest]\npythonpath = .\naddopts = -p no:cacheprovider\n")
    inputs.generate(str(workdir / "input"))
    home = workdir / "home"  # test_CLI writes adb configs under $HOME
    home.mkdir()

    proc, port, ca = start_emulator(workdir)
    write_dbinfo(workdir, port, ca)
    desel, ignored = deselection(workdir)
    junit = workdir / "junit.xml"
    env = dict(os.environ, HOME=str(home), ADB_LOG_FILE="", PYTHONPATH=str(workdir),
               KAGGLE_USERNAME="ci", KAGGLE_KEY="dummy")
    env.pop("APERTUREDB_KEY", None)
    env.pop("APERTUREDB_JSON", None)
    try:
        rc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-rfE", "--timeout=300",
                             "--continue-on-collection-errors", f"--junitxml={junit}", *desel, *pytest_args],
                            cwd=workdir, env=env, timeout=RUN_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        print(f"the SDK suite did not finish within {RUN_TIMEOUT} s")
        rc = -1
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    if not junit.exists():
        print(f"pytest produced no report (exit {rc})")
        return 1
    bad = report(junit, workdir, ignored)
    if not args.keep:
        shutil.rmtree(workdir, ignore_errors=True)
    if bad:
        print(f"\n{len(bad)} SDK test(s) failed that are not in tests/sdk_suite/deselected.py:")
        print("\n".join("  " + b for b in bad))
    if rc not in (0, 1, 5) and not bad:
        print(f"pytest exited with {rc}")
        return 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
