"""Loading our IDL with thriftpy2, and building struct values generically from thrift_spec.

`full(cls)` sets every field (nested structs too, lists of 2, maps of 2, non-zero enums,
non-UTF-8 binary, non-ASCII strings); `required_only(cls)` sets only required fields (and
those of default requiredness, which real peers always send) and clears the rest, declared
defaults included.
"""

import pathlib
import re
import types

import thriftpy2
from thriftpy2.protocol.binary import TBinaryProtocolFactory
from thriftpy2.thrift import TType
from thriftpy2.transport import TMemoryBuffer

REPO_ROOT = pathlib.Path(__file__).resolve().parent.parent.parent
THRIFT_DIR = REPO_ROOT / "thrift"
IDL_FILES = sorted(p.stem for p in THRIFT_DIR.glob("*.thrift"))

# thriftpy2 marks binary (as opposed to string) fields with this pseudo type.
BINARY = 18
_MAX_DEPTH = 12

_modules = {}


def load(name: str):
    """One IDL file as a thriftpy2 module (includes share modules by name)."""
    if name not in _modules:
        _modules[name] = thriftpy2.load(
            str(THRIFT_DIR / f"{name}.thrift"), module_name=f"{name}_thrift", include_dirs=[str(THRIFT_DIR)]
        )
    return _modules[name]


def declared_structs() -> dict:
    """Struct name -> the IDL file declaring it, for every struct in thrift/*.thrift."""
    out = {}
    for name in IDL_FILES:
        text = (THRIFT_DIR / f"{name}.thrift").read_text()
        for m in re.finditer(r"^(?:struct|union|exception)\s+(\w+)", text, re.M):
            out[m.group(1)] = name
    return out


def default_requiredness() -> dict:
    """Struct name -> fields declared neither required nor optional. The C++ and Java
    generators always write such fields, and the Rust one reads an absent one as zero;
    thriftpy2 treats them as optional."""
    out = {}
    for name in IDL_FILES:
        text = (THRIFT_DIR / f"{name}.thrift").read_text()
        for m in re.finditer(r"^(?:struct|union|exception)\s+(\w+)\s*\{(.*?)^\}", text, re.M | re.S):
            fields = set()
            for line in m.group(2).splitlines():
                f = re.match(r"\s*-?\d+\s*:\s*(.*?)\s*$", line)
                if not f or f.group(1).startswith(("required ", "optional ")):
                    continue
                fields.add(re.match(r"(.+?)\s+(\w+)\s*(?:=.*)?$", f.group(1)).group(2))
            if fields:
                out[m.group(1)] = fields
    return out


_DEFAULT_REQ = None


def _always_written(cls) -> set:
    global _DEFAULT_REQ
    if _DEFAULT_REQ is None:
        _DEFAULT_REQ = default_requiredness()
    return _DEFAULT_REQ.get(cls.__name__, set())


def struct_class(name: str):
    return getattr(load(declared_structs()[name]), name)


def namespace() -> types.SimpleNamespace:
    """Every struct and enum of every IDL file, by name."""
    ns = {}
    for f in IDL_FILES:
        mod = load(f)
        for k in dir(mod):
            v = getattr(mod, k)
            if isinstance(v, type) and k.startswith("T"):
                ns[k] = v
    return types.SimpleNamespace(**ns)


def is_enum(arg) -> bool:
    return isinstance(arg, type) and hasattr(arg, "_VALUES_TO_NAMES")


def _split(spec_arg):
    """A container element spec: a bare ttype, or (ttype, arg)."""
    if isinstance(spec_arg, tuple):
        return spec_arg[0], spec_arg[1]
    return spec_arg, None


def _enum_values(enum):
    vals = sorted(v for v in enum._VALUES_TO_NAMES if v != 0)
    return vals or sorted(enum._VALUES_TO_NAMES)


def scalar(ttype, arg, seed: int):
    """A value of a scalar type; different seeds give different values."""
    if ttype == TType.BOOL:
        return seed % 2 == 0
    if ttype == TType.BYTE:
        return (seed * 37) % 256 - 128
    if ttype == TType.I16:
        return -(1000 + seed) if seed % 2 else 1000 + seed
    if ttype == TType.I32:
        if is_enum(arg):
            vals = _enum_values(arg)
            return vals[seed % len(vals)]
        return -(100_000 + seed) if seed % 2 else 100_000 + seed
    if ttype == TType.I64:
        return -(2**40 + seed) if seed % 2 else 2**40 + seed
    if ttype == TType.DOUBLE:
        return seed + 0.25
    if ttype == TType.STRING:
        return f"vål-{seed}-日本✓"
    if ttype == BINARY:
        return bytes([0xFF, 0xFE, 0x00, 0x80, seed % 256, 0xC3])
    raise ValueError(f"not a scalar type: {ttype}")


class _Seeds:
    def __init__(self):
        self.n = 0

    def next(self) -> int:
        self.n += 1
        return self.n


def _refers(ttype, arg, cls) -> bool:
    """Whether a field of this type holds a `cls` (directly or as a container's element)."""
    if ttype == TType.STRUCT:
        return arg is cls
    if ttype in (TType.LIST, TType.SET):
        return _refers(*_split(arg), cls)
    if ttype == TType.MAP:
        return _refers(*_split(arg[0]), cls) or _refers(*_split(arg[1]), cls)
    return False


def _value(ttype, arg, mode: str, seeds: _Seeds, depth: int, path=()):
    if ttype == TType.STRUCT:
        return _build(arg, mode, seeds, depth + 1, path)
    if ttype in (TType.LIST, TType.SET):
        et, ea = _split(arg)
        if et == TType.I32 and is_enum(ea):
            vals = _enum_values(ea)
            items = vals[:2]
        else:
            items = [_value(et, ea, mode, seeds, depth, path) for _ in range(2)]
        # A set as a sorted list: thriftpy2 decodes sets into lists, and our encoder
        # (BTreeSet) writes them in ascending order.
        return sorted(set(items)) if ttype == TType.SET else items
    if ttype == TType.MAP:
        (kt, ka), (vt, va) = _split(arg[0]), _split(arg[1])
        if kt == TType.I32 and is_enum(ka):
            keys = _enum_values(ka)[:2]
        else:
            keys = [_value(kt, ka, mode, seeds, depth, path) for _ in range(2)]
        # Keys in ascending order: the order our encoder (BTreeMap) writes them.
        return {k: _value(vt, va, mode, seeds, depth, path) for k in sorted(keys)}
    return scalar(ttype, arg, seeds.next())


def _build(cls, mode: str, seeds: _Seeds, depth: int, path=()):
    if depth > _MAX_DEPTH:
        raise ValueError(f"{cls.__name__} nests deeper than {_MAX_DEPTH}")
    # A self-referencing struct (TColumn.children_column) is filled one level deep: inside
    # itself, its optional fields holding itself are left unset.
    nested = cls in path
    path = path + (cls,)
    obj = cls()
    always = _always_written(cls)
    for fid, spec in sorted(cls.thrift_spec.items()):
        ttype, name = spec[0], spec[1]
        # Default-requiredness fields count as required: real peers always send them.
        required = spec[-1] or name in always
        arg = spec[2] if len(spec) == 4 else None
        if (mode == "full" or required) and not (not required and nested and _refers(ttype, arg, cls)):
            setattr(obj, name, _value(ttype, arg, mode, seeds, depth, path))
        else:
            setattr(obj, name, None)
    return obj


def full(cls, seed_base: int = 0):
    s = _Seeds()
    s.n = seed_base
    return _build(cls, "full", s, 0)


def required_only(cls):
    return _build(cls, "required", _Seeds(), 0)


_PROTO = TBinaryProtocolFactory()


def encode(obj) -> bytes:
    buf = TMemoryBuffer()
    obj.write(_PROTO.get_protocol(buf))
    return buf.getvalue()


def decode(cls, data: bytes):
    obj = cls()
    obj.read(_PROTO.get_protocol(TMemoryBuffer(data)))
    return obj


def normalize(obj):
    """What a decoder would produce for obj: absent optional fields take their defaults."""
    return decode(type(obj), encode(obj))


def field_names(cls) -> list:
    """Field names of a thriftpy2 (dict spec) or Apache Thrift (tuple spec) struct class."""
    spec = cls.thrift_spec
    if isinstance(spec, dict):
        return [s[1] for _, s in sorted(spec.items())]
    return [s[2] for s in spec if s is not None]


def mk(cls, **fields):
    """An instance with exactly these fields set: defaults of the others are cleared, so
    what goes on the wire is what the caller named."""
    obj = cls()
    names = field_names(cls)
    for n in names:
        setattr(obj, n, None)
    for k, v in fields.items():
        if k not in names:
            raise AttributeError(f"{cls.__name__} has no field {k}")
        setattr(obj, k, v)
    return obj



def full_value(ttype, arg, seed_base: int = 0):
    """A fully populated value of any type (a struct, a container or a scalar)."""
    s = _Seeds()
    s.n = seed_base
    return _value(ttype, arg, "full", s, 0)


def method_args(service, method: str, seed_base: int = 0) -> list:
    """Fully populated positional arguments for a thriftpy2 service method."""
    spec = getattr(service, method + "_args").thrift_spec
    return [full_value(s[0], s[2] if len(s) == 4 else None, seed_base) for _, s in sorted(spec.items())]
