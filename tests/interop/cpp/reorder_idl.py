#!/usr/bin/env python3
"""Copy thrift/*.thrift with each file's definitions in dependency order, for the C++ generator.

The Thrift C++ generator emits structs in IDL order and holds struct members by value, so a
struct must be defined before any struct that contains it. Our IDL lists definitions
alphabetically (Java, Python and Rust do not care). Reordering definitions inside a file
changes no field, id or type: the wire format is the same. Usage: reorder_idl.py SRC DST
"""

import pathlib
import re
import sys

DEF_RE = re.compile(r"^(struct|union|exception|enum|typedef|service|const)\s+", re.M)


def split_defs(text):
    """(header lines, [(kind, name, text)]) of one IDL file; definitions are top level."""
    header, defs, i = [], [], 0
    lines = text.splitlines(keepends=True)
    body_start = None
    for n, line in enumerate(lines):
        if DEF_RE.match(line):
            body_start = n
            break
        header.append(line)
    if body_start is None:
        return "".join(header), []
    rest = "".join(lines[body_start:])
    while i < len(rest):
        m = DEF_RE.search(rest, i)
        if not m:
            break
        start = m.start()
        kind = m.group(1)
        if kind in ("typedef", "const"):
            end = rest.index("\n", start) + 1
            name = rest[start:end].split()[-1] if kind == "typedef" else rest[start:end].split()[2]
        else:
            name = rest[m.end():].split()[0].rstrip("{")
            depth, j = 0, rest.index("{", start)
            while True:
                if rest[j] == "{":
                    depth += 1
                elif rest[j] == "}":
                    depth -= 1
                    if depth == 0:
                        break
                j += 1
            end = j + 1
            if end < len(rest) and rest[end] == "\n":
                end += 1
        defs.append((kind, name, rest[start:end]))
        i = end
    return "".join(header), defs


def reorder(defs):
    names = {name for _, name, _ in defs}
    by_name = {name: (kind, text) for kind, name, text in defs}
    out, done, visiting = [], set(), set()

    def visit(name):
        if name in done or name in visiting:
            return
        visiting.add(name)
        kind, text = by_name[name]
        body = text.split("{", 1)[1] if "{" in text else text.split(None, 2)[-1]
        for dep in re.findall(r"\b([A-Za-z_]\w*)\b", body):
            if dep in names and dep != name:
                visit(dep)
        visiting.discard(name)
        done.add(name)
        out.append(text)

    # Enums and typedefs first, services last, structs in dependency order.
    for kinds in (("enum", "typedef", "const"), ("struct", "union", "exception"), ("service",)):
        for kind, name, _ in defs:
            if kind in kinds:
                visit(name)
    return out


def main(src, dst):
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(src.glob("*.thrift")):
        header, defs = split_defs(f.read_text())
        ordered = reorder(defs)
        assert len(ordered) == len(defs), f"{f}: lost a definition"
        (dst / f.name).write_text(header + "\n".join(t.rstrip("\n") + "\n" for t in ordered))


if __name__ == "__main__":
    main(pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2]))
