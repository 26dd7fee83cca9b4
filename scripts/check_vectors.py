#!/usr/bin/env python3
"""Independent verifier of the techmesh record test vectors.

Written from docs/PROTOCOL.md (not ported from the Rust code) to show that the
document is enough to verify records in another language. For every vector listed in
docs/vectors/index.json it decides "valid" or "invalid" (with the reason name of
PROTOCOL.md §4.5) and compares that with the vector's `expect` and `reason`. For valid
vectors it also compares the signing input it builds with `signing_input_hex`; for
every vector it compares SHA-256 of the record bytes with `hash`.

Usage (from the repository root):

    python3 -m venv /tmp/vv && /tmp/vv/bin/pip install -r scripts/requirements-test.txt
    /tmp/vv/bin/python scripts/check_vectors.py [docs/vectors]
    /tmp/vv/bin/python scripts/check_vectors.py --self-test   # JCS and decoder checks

Only PyNaCl (libsodium) is needed, for the final ed25519 equation. Everything else --
canonical JSON, the strict decoder, the envelope, the point checks, the body rules --
is plain Python here.
"""

import hashlib
import json
import math
import os
import re
import sys
import unicodedata

MAX_RECORD_BYTES = 131072
SIGNING_PREFIX = b"techmesh-record-v1:"
ENVELOPE_MEMBERS = {"v", "kind", "publisher", "seq", "issued_at", "body", "sig"}
KINDS = ("entry", "mapping_set", "event", "tombstone", "membership")
U64_MAX = 2**64 - 1


class Invalid(Exception):
    """A record is refused; `reason` is the stable name of PROTOCOL.md §4.5."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------------
# §2 Canonical form: RFC 8785 (JCS) encoder and the strict decoder
# ---------------------------------------------------------------------------------


def es_number(x):
    """A JSON number the way ECMAScript's Number::toString writes it (RFC 8785 §3.2.2.3)."""
    if isinstance(x, bool):
        raise TypeError("bool is not a number")
    if isinstance(x, int):
        x = float(x)  # JSON numbers are IEEE-754 doubles (OverflowError if out of range)
    if not math.isfinite(x):
        raise ValueError("NaN and infinities are not JSON")
    if x == 0:
        return "0"  # also for -0
    if x < 0:
        return "-" + es_number(-x)
    # repr() gives the shortest digit string that round-trips, like ECMAScript.
    mant, _, exp = repr(x).partition("e")
    exp = int(exp) if exp else 0
    ip, _, fp = mant.partition(".")
    all_digits = ip + fp
    stripped = all_digits.lstrip("0")
    n = len(ip) + exp - (len(all_digits) - len(stripped))  # value = 0.DIGITS * 10^n
    digits = stripped.rstrip("0")
    k = len(digits)
    if k <= n <= 21:
        return digits + "0" * (n - k)
    if 0 < n <= 21:
        return digits[:n] + "." + digits[n:]
    if -6 < n <= 0:
        return "0." + "0" * (-n) + digits
    e = n - 1
    return digits[0] + ("." + digits[1:] if k > 1 else "") + "e" + ("+" if e >= 0 else "-") + str(abs(e))


_SHORT_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def jcs_string(s):
    out = ['"']
    for ch in s:
        if ch in _SHORT_ESCAPES:
            out.append(_SHORT_ESCAPES[ch])
        elif ord(ch) < 0x20:
            out.append("\\u%04x" % ord(ch))
        else:
            out.append(ch)  # everything else literally (UTF-8 on output), '/' and DEL included
    out.append('"')
    return "".join(out)


def _jcs(v, out):
    if v is None:
        out.append("null")
    elif v is True:
        out.append("true")
    elif v is False:
        out.append("false")
    elif isinstance(v, (int, float)):
        out.append(es_number(v))
    elif isinstance(v, str):
        out.append(jcs_string(v))
    elif isinstance(v, list):
        out.append("[")
        for i, item in enumerate(v):
            if i:
                out.append(",")
            _jcs(item, out)
        out.append("]")
    elif isinstance(v, dict):
        out.append("{")
        # Members sorted by their names' UTF-16 code units (big-endian bytes compare alike).
        for i, key in enumerate(sorted(v, key=lambda k: k.encode("utf-16-be", "surrogatepass"))):
            if i:
                out.append(",")
            out.append(jcs_string(key))
            out.append(":")
            _jcs(v[key], out)
        out.append("}")
    else:
        raise TypeError(f"not a JSON value: {type(v).__name__}")


def jcs(value):
    """RFC 8785 canonical bytes of a JSON value."""
    out = []
    _jcs(value, out)
    return "".join(out).encode("utf-8")


class _Duplicate(Exception):
    pass


def _no_duplicates(pairs):
    obj = {}
    for k, v in pairs:
        if k in obj:
            raise _Duplicate(k)
        obj[k] = v
    return obj


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


MAX_DEPTH = 127  # deepest nesting of arrays/objects (the record object counts as 1)


def _check_parsed(v, depth=0):
    """Refuse what §2.3 refuses as not JSON but Python's parser lets through."""
    if isinstance(v, (list, dict)) and depth + 1 > MAX_DEPTH:
        raise ValueError(f"nested deeper than {MAX_DEPTH}")
    if isinstance(v, str):
        v.encode("utf-8")  # lone surrogates from \\uD800-style escapes raise here
    elif isinstance(v, float):
        if not math.isfinite(v):
            raise ValueError("number out of range")
    elif isinstance(v, int) and not isinstance(v, bool):
        float(v)  # OverflowError when no double is near it
    elif isinstance(v, list):
        for item in v:
            _check_parsed(item, depth + 1)
    elif isinstance(v, dict):
        for k, item in v.items():
            k.encode("utf-8")
            _check_parsed(item, depth + 1)


def decode_strict(data):
    """Parse, re-encode, byte-compare (§2.3). Returns the value or raises Invalid."""
    try:
        text = data.decode("utf-8")  # strict: invalid UTF-8 is not JSON; a BOM stays and fails below
    except UnicodeDecodeError as e:
        raise Invalid("not_json", f"invalid UTF-8: {e}")
    try:
        value = json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_reject_constant)
        _check_parsed(value)
    except _Duplicate as e:
        raise Invalid("not_canonical", f"duplicate member {e.args[0]!r}")
    except (ValueError, OverflowError, UnicodeEncodeError, RecursionError) as e:
        raise Invalid("not_json", str(e))
    again = jcs(value)
    if again != data:
        at = next((i for i, (a, b) in enumerate(zip(again, data)) if a != b), min(len(again), len(data)))
        raise Invalid("not_canonical", f"first difference from the canonical encoding at byte {at}")
    return value


# ---------------------------------------------------------------------------------
# §4 ed25519 point checks (pure Python, affine Edwards arithmetic)
# ---------------------------------------------------------------------------------

P = 2**255 - 19
L = 2**252 + 27742317777372353535851937790883648493
D = (-121665 * pow(121666, P - 2, P)) % P
SQRT_M1 = pow(2, (P - 1) // 4, P)
IDENTITY = (0, 1)


def decode_point(b):
    """Decode a 32-byte point encoding: ('non_canonical' | 'not_on_curve' | (x, y))."""
    y = int.from_bytes(b, "little") & ((1 << 255) - 1)
    sign = b[31] >> 7
    if y >= P:
        return "non_canonical"
    u = (y * y - 1) % P
    v = (D * y * y + 1) % P
    x2 = u * pow(v, P - 2, P) % P
    x = pow(x2, (P + 3) // 8, P)
    if (x * x - x2) % P:
        x = x * SQRT_M1 % P
    if (x * x - x2) % P:
        return "not_on_curve"
    if (x & 1) != sign:
        x = (P - x) % P  # x = 0 with sign 1 stays 0 (y = ±1: small order, refused as weak)
    return (x, y)


def point_add(p1, p2):
    (x1, y1), (x2, y2) = p1, p2
    t = D * x1 * x2 * y1 * y2 % P
    x3 = (x1 * y2 + y1 * x2) * pow(1 + t, P - 2, P) % P
    y3 = (y1 * y2 + x1 * x2) * pow(1 - t, P - 2, P) % P
    return (x3, y3)


def is_small_order(pt):
    """[8]P is the identity (the point's order divides the cofactor 8)."""
    q = pt
    for _ in range(3):
        q = point_add(q, q)
    return q == IDENTITY


# ---------------------------------------------------------------------------------
# §3 time formats
# ---------------------------------------------------------------------------------


def _ascii_int(s):
    if not s or not all("0" <= c <= "9" for c in s):
        return None
    return int(s)


def _days_in_month(y, m):
    if m == 2:
        return 29 if (y % 4 == 0 and y % 100 != 0) or y % 400 == 0 else 28
    return 30 if m in (4, 6, 9, 11) else 31


def days_from_civil(y, m, d):
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((m + 9) % 12) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_date(s):
    """YYYY-MM-DD, years 1970-9999: (y, m, d) or None."""
    if not isinstance(s, str) or len(s) != 10 or s[4] != "-" or s[7] != "-":
        return None
    y, m, d = _ascii_int(s[0:4]), _ascii_int(s[5:7]), _ascii_int(s[8:10])
    if y is None or m is None or d is None or y < 1970 or not 1 <= m <= 12:
        return None
    if not 1 <= d <= _days_in_month(y, m):
        return None
    return (y, m, d)


def parse_timestamp(s):
    """Exactly YYYY-MM-DDTHH:MM:SSZ: seconds since 1970-01-01T00:00:00Z, or None."""
    if not isinstance(s, str) or len(s) != 20 or s[10] != "T" or s[13] != ":" or s[16] != ":" or s[19] != "Z":
        return None
    date = parse_date(s[0:10])
    h, mi, se = _ascii_int(s[11:13]), _ascii_int(s[14:16]), _ascii_int(s[17:19])
    if date is None or h is None or mi is None or se is None or h > 23 or mi > 59 or se > 59:
        return None
    return days_from_civil(*date) * 86400 + h * 3600 + mi * 60 + se


# ---------------------------------------------------------------------------------
# §6.4 classification codes: normal forms
# ---------------------------------------------------------------------------------

# Unicode White_Space (what is trimmed around codes and what makes a text "empty").
WHITE_SPACE = set("\t\n\x0b\x0c\r \x85\xa0\u1680\u2028\u2029\u202f\u205f\u3000") | {
    chr(c) for c in range(0x2000, 0x200B)
}

SCHEMES = (
    "ipc", "cpc", "wipo35", "nace2", "isic4", "gbt4754", "gbt13745", "cn-techfield",
    "een-tech", "trl-eu", "trl-nasa", "gbt22900", "cn-stage",
)
MATURITY_RANGE = {"trl-eu": (1, 9), "trl-nasa": (1, 9), "gbt22900": (1, 9), "cn-stage": (1, 5)}
TECHFIELDS = (
    "电子信息", "先进制造", "航空航天", "现代交通", "生物医药和医疗器械", "新材料及其应用",
    "新能源与高效节能", "环境保护与资源综合利用", "核应用", "农业", "城市建设与社会发展",
)
TECHFIELD_ALIASES = {"生物、医药和医疗器械": "生物医药和医疗器械"}
CN_STAGES = ("正在研发", "已有样品", "通过小试", "通过中试", "可以量产")


class CodeError(Exception):
    pass


def _trim(s):
    i, j = 0, len(s)
    while i < j and s[i] in WHITE_SPACE:
        i += 1
    while j > i and s[j - 1] in WHITE_SPACE:
        j -= 1
    return s[i:j]


def _ltrim(s):
    i = 0
    while i < len(s) and s[i] in WHITE_SPACE:
        i += 1
    return s[i:]


def _is_digits(s):
    return bool(s) and all("0" <= c <= "9" for c in s)


def _is_control(c):
    return unicodedata.category(c) == "Cc"


def _strip_ipc_version(s):
    if not s.endswith(")"):
        return s
    code, paren, version = s[:-1].rpartition("(")
    ok = paren and len(version) == 7 and version[4] == "." and _is_digits(version[:4] + version[5:])
    code = code.rstrip("".join(WHITE_SPACE))
    if not ok or not code:
        raise CodeError('a version suffix is written "(2006.01)"')
    return code


def _patent(s, cpc):
    s = _strip_ipc_version(s)
    section = s[0].upper() if s[0].isascii() else s[0]
    if not ("A" <= section <= "H" or (cpc and section == "Y")):
        raise CodeError("bad section letter")
    out = section
    if len(s) == 1:
        return out
    if len(s) < 3 or not _is_digits(s[1:3]):
        raise CodeError("the class is two digits")
    out += s[1:3]
    if len(s) == 3:
        return out
    if not (s[3].isascii() and s[3].isalpha()):
        raise CodeError("the subclass is one letter")
    out += s[3].upper()
    rest = _ltrim(s[4:])
    if not rest:
        return out
    n = 0
    while n < len(rest) and "0" <= rest[n] <= "9":
        n += 1
    main, after = rest[:n], rest[n:]
    if not 1 <= len(main) <= 4:
        raise CodeError("1 to 4 main group digits expected")
    main = main.lstrip("0")
    if not main:
        raise CodeError("the main group number cannot be 0")
    out += " " + main
    if not after:
        return out
    if not after.startswith("/"):
        raise CodeError('only "/" and a subgroup may follow the main group')
    sub = after[1:]
    if not (2 <= len(sub) <= 6 and _is_digits(sub)):
        raise CodeError("the subgroup is 2 to 6 digits")
    return out + "/" + sub


def _level(s, lo, hi):
    if not _is_digits(s):
        raise CodeError(f"expected a number from {lo} to {hi}")
    digits = s.lstrip("0")
    if not digits or len(digits) > 3 or not lo <= int(digits) <= hi:
        raise CodeError(f"expected a number from {lo} to {hi}")
    return str(int(digits))


def _nace2(s):
    if s[0].isascii() and s[0].isalpha():
        raise CodeError("NACE codes are numeric")
    if not all(c == "." or "0" <= c <= "9" for c in s):
        raise CodeError("bad NACE code")
    if "." in s:
        division, _, rest = s.partition(".")
        if not 1 <= len(rest) <= 2:
            raise CodeError("bad NACE code")
    elif len(s) >= 2:
        division, rest = s[:2], s[2:]
    else:
        raise CodeError("bad NACE code")
    if len(division) != 2 or not _is_digits(division) or (rest and not _is_digits(rest)) or len(rest) > 2:
        raise CodeError("bad NACE code")
    if division == "00":
        raise CodeError("there is no division 00")
    return division + ("." + rest if rest else "")


def _isic4(s):
    if s[0].isascii() and s[0].isalpha():
        raise CodeError("ISIC codes are numeric")
    if "." in s or not (_is_digits(s) and 2 <= len(s) <= 4):
        raise CodeError("expected 2 to 4 digits")
    if s.startswith("00"):
        raise CodeError("there is no division 00")
    return s


def _gbt4754(s):
    first = s[0]
    if "0" <= first <= "9":
        raise CodeError("the section letter is required")
    section = first.upper() if first.isascii() else first
    if not ("A" <= section <= "T"):
        raise CodeError("the section letter must be A to T")
    digits = s[1:]
    if len(digits) not in (0, 2, 3, 4) or (digits and not _is_digits(digits)):
        raise CodeError("a section letter then 2, 3 or 4 digits")
    if digits.startswith("00"):
        raise CodeError("there is no division 00")
    return section + digits


def _digits_of_len(s, lengths):
    if len(s) in lengths and _is_digits(s):
        return s
    raise CodeError(f"expected {lengths} digits")


def normalise_code(scheme, raw):
    """The normal form of `raw` in `scheme` (PROTOCOL.md §6.4), or raise CodeError."""
    s = _trim(raw)
    if not s:
        raise CodeError("the code is empty")
    if len(s.encode("utf-8")) > 64:
        raise CodeError("longer than 64 bytes")
    if any(_is_control(c) for c in s):
        raise CodeError("contains a control character")
    if scheme == "ipc":
        return _patent(s, False)
    if scheme == "cpc":
        return _patent(s, True)
    if scheme == "wipo35":
        return _level(s, 1, 35)
    if scheme == "nace2":
        return _nace2(s)
    if scheme == "isic4":
        return _isic4(s)
    if scheme == "gbt4754":
        return _gbt4754(s)
    if scheme == "gbt13745":
        return _digits_of_len(s, (3, 5, 7))
    if scheme == "een-tech":
        return _digits_of_len(s, range(2, 10))
    if scheme == "cn-techfield":
        if s in TECHFIELDS:
            return s
        if s in TECHFIELD_ALIASES:
            return TECHFIELD_ALIASES[s]
        raise CodeError("not a known technology field")
    if scheme in ("trl-eu", "trl-nasa", "gbt22900"):
        if s[:3].isascii() and s[:3].lower() == "trl":
            s = _ltrim(s[3:])
            if s.startswith("-"):
                s = s[1:]
            s = _ltrim(s)
        return _level(s, 1, 9)
    if scheme == "cn-stage":
        if s in CN_STAGES:
            return str(CN_STAGES.index(s) + 1)
        return _level(s, 1, 5)
    raise CodeError(f"unknown scheme {scheme!r}")


# ---------------------------------------------------------------------------------
# §6 body rules
# ---------------------------------------------------------------------------------


class BodyErrors(Exception):
    pass


# Shapes: what a member must hold (the typed layer of §6.1).
STR, BOOL, U8, F64 = "string", "boolean", "integer 0-255", "number"


def enum(*names):
    return ("enum", names)


def list_of(shape):
    return ("list", shape)


def map_of(shape):
    return ("map", shape)


def struct(**members):
    """members: name -> (shape, mode); mode 'req' | 'opt' (absent or null) | 'def' (absent)."""
    return ("struct", members)


LANGMAP = map_of(STR)
CLASSIFICATION = struct(scheme=(STR, "req"), code=(STR, "req"))
SCOPE = enum("federation", "national", "international")
KIND_NAMES = enum(*KINDS)

ENTRY = struct(
    local_id=(STR, "req"),
    entry_type=(enum("offer", "request"), "req"),
    title=(LANGMAP, "req"),
    summary=(LANGMAP, "req"),
    description=(LANGMAP, "def"),
    keywords=(map_of(list_of(STR)), "def"),
    classifications=(list_of(CLASSIFICATION), "req"),
    transfer_modes=(list_of(enum(
        "assignment", "licence", "exclusive_licence", "rd_cooperation", "commissioned_rd",
        "joint_implementation", "equity_investment", "technical_service", "consulting", "other",
    )), "def"),
    trl=(struct(scheme=(STR, "req"), level=(U8, "req")), "opt"),
    ipr=(struct(
        status=(enum("none", "secret_know_how", "applied", "granted"), "req"),
        patents=(list_of(STR), "def"),
    ), "opt"),
    organisation=(struct(
        name=(LANGMAP, "req"),
        kind=(enum("university", "research_institute", "enterprise", "hospital", "government", "other"), "req"),
        country=(STR, "req"),
        region=(STR, "opt"),
    ), "req"),
    target_countries=(list_of(STR), "def"),
    price=(struct(amount=(STR, "req"), currency=(STR, "req"), negotiable=(BOOL, "opt")), "opt"),
    valid_from=(STR, "req"),
    valid_until=(STR, "req"),
    events=(list_of(STR), "def"),
    scope=(SCOPE, "opt"),
)

MAPPING_SET = struct(
    local_id=(STR, "req"),
    title=(LANGMAP, "req"),
    subject_scheme=(STR, "req"),
    object_scheme=(STR, "req"),
    license=(STR, "opt"),
    mappings=(list_of(struct(
        subject=(STR, "req"),
        predicate=(enum("exact", "close", "broad", "narrow", "related"), "req"),
        object=(STR, "req"),
        confidence=(F64, "opt"),
        justification=(enum("manual", "lexical", "chaining", "inversion", "other"), "opt"),
        negated=(BOOL, "def"),
    )), "req"),
)

EVENT = struct(
    local_id=(STR, "req"),
    title=(LANGMAP, "req"),
    description=(LANGMAP, "def"),
    starts_on=(STR, "req"),
    ends_on=(STR, "req"),
    organiser=(struct(name=(LANGMAP, "req"), country=(STR, "req")), "req"),
    themes=(list_of(CLASSIFICATION), "def"),
    mode=(enum("onsite", "online", "hybrid"), "req"),
    venue=(struct(city=(STR, "req"), country=(STR, "req")), "opt"),
    participants=(list_of(STR), "def"),
    scope=(SCOPE, "opt"),
)

TOMBSTONE = struct(target_kind=(KIND_NAMES, "req"), local_id=(STR, "req"), reason=(STR, "opt"))

MEMBERSHIP = struct(
    local_id=(STR, "req"),
    federation=(STR, "req"),
    members=(list_of(struct(
        name=(STR, "req"),
        country=(STR, "req"),
        region=(STR, "opt"),
        publisher_keys=(list_of(STR), "def"),
        peer_ids=(list_of(STR), "def"),
        addresses=(list_of(STR), "def"),
        roles=(list_of(enum("publish_entries", "publish_events", "observer")), "def"),
        publish_mappings=(list_of(STR), "def"),
        receive_scopes=(list_of(SCOPE), "req"),
    )), "req"),
)

BODY_SHAPES = {"entry": ENTRY, "mapping_set": MAPPING_SET, "event": EVENT, "tombstone": TOMBSTONE, "membership": MEMBERSHIP}
DEFAULTS = {"list": list, "map": dict, BOOL: lambda: False}


def _default(shape):
    key = shape if isinstance(shape, str) else shape[0]
    return DEFAULTS[key]()


def shape_of(shape, v, path):
    """Check `v` against `shape`; return it with absent optional members filled in."""
    where = path or "body"
    if shape == STR:
        if not isinstance(v, str):
            raise BodyErrors([f"{where}: must be a string"])
        return v
    if shape == BOOL:
        if not isinstance(v, bool):
            raise BodyErrors([f"{where}: must be true or false"])
        return v
    if shape == U8:
        if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 255:
            raise BodyErrors([f"{where}: must be an integer from 0 to 255"])
        return v
    if shape == F64:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise BodyErrors([f"{where}: must be a number"])
        return float(v)
    tag, arg = shape
    if tag == "enum":
        if not isinstance(v, str) or v not in arg:
            raise BodyErrors([f"{where}: must be one of {', '.join(arg)}"])
        return v
    if tag == "list":
        if not isinstance(v, list):
            raise BodyErrors([f"{where}: must be an array"])
        return [shape_of(arg, item, f"{path}[{i}]") for i, item in enumerate(v)]
    if tag == "map":
        if not isinstance(v, dict):
            raise BodyErrors([f"{where}: must be an object"])
        return {k: shape_of(arg, item, f"{path}.{k}" if path else k) for k, item in v.items()}
    if tag == "struct":
        if not isinstance(v, dict):
            raise BodyErrors([f"{where}: must be an object"])
        unknown = [k for k in v if k not in arg]
        if unknown:
            raise BodyErrors([f"{where}: unknown field {unknown[0]!r}"])
        out = {}
        for name, (member, mode) in arg.items():
            p = f"{path}.{name}" if path else name
            if name not in v:
                if mode == "req":
                    raise BodyErrors([f"{where}: missing field {name!r}"])
                out[name] = None if mode == "opt" else _default(member)
            elif v[name] is None or (mode != "req" and v[name] in ([], {})) or (name == "negated" and v[name] is False):
                # Normal form (§6.1): an optional member that is null, empty or the
                # default false is left out, never written.
                raise BodyErrors([f"{p}: is not in normal form (this member must be left out when empty or null)"])
            else:
                out[name] = shape_of(member, v[name], p)
        return out
    raise AssertionError(shape)


COUNTRIES = set(
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW".split()
)
LOCAL_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}\Z")
LANG_TAG = re.compile(r"[a-z]{2,3}(-[A-Za-z0-9]{1,8})*\Z")
HEX64 = re.compile(r"[0-9a-f]{64}\Z")
DECIMAL = re.compile(r"(0|[1-9][0-9]{0,17})(\.[0-9]{1,6})?\Z")


class Rules:
    """Collects every broken rule as `path: message`."""

    def __init__(self):
        self.errors = []

    def fail(self, path, msg):
        self.errors.append(f"{path}: {msg}" if path else msg)

    def local_id(self, path, s):
        if not LOCAL_ID.match(s):
            self.fail(path, f"{s!r} is not a local id")

    def text(self, path, s, max_chars):
        if not _trim(s):
            self.fail(path, "is empty")
        elif len(s) > max_chars:
            self.fail(path, f"is {len(s)} characters long, more than {max_chars}")
        if any(_is_control(c) and c not in "\n\t" for c in s):
            self.fail(path, "contains control characters")

    def lang_map(self, path, m, required, max_chars):
        if required and not m:
            self.fail(path, "needs at least one language")
        for lang, text in m.items():
            self.language_tag(f"{path}.{lang}", lang)
            self.text(f"{path}.{lang}", text, max_chars)

    def language_tag(self, path, tag):
        if len(tag) > 35 or not LANG_TAG.match(tag):
            self.fail(path, f"{tag!r} is not a BCP-47 language tag")

    def country(self, path, cc):
        if cc not in COUNTRIES:
            self.fail(path, f"{cc!r} is not an ISO 3166-1 alpha-2 country code")

    def max_items(self, path, items, n):
        if len(items) > n:
            self.fail(path, f"has {len(items)} items, more than {n}")

    def code(self, path, scheme, code):
        try:
            normal = normalise_code(scheme, code)
        except CodeError as e:
            self.fail(path, f"{code!r} is not a {scheme} code ({e})")
            return
        if normal != code:
            self.fail(path, f"{code!r} is not in normal form (write {normal!r})")

    def classification(self, path, c):
        if c["scheme"] not in SCHEMES:
            self.fail(f"{path}.scheme", f"{c['scheme']!r} is not a known classification scheme")
        else:
            self.code(f"{path}.code", c["scheme"], c["code"])


def check_entry(e, r):
    r.local_id("local_id", e["local_id"])
    r.lang_map("title", e["title"], True, 256)
    r.lang_map("summary", e["summary"], True, 500)
    r.lang_map("description", e["description"], False, 4000)
    for lang, words in e["keywords"].items():
        r.language_tag(f"keywords.{lang}", lang)
        r.max_items(f"keywords.{lang}", words, 10)
        for i, w in enumerate(words):
            r.text(f"keywords.{lang}[{i}]", w, 64)
    if not e["classifications"]:
        r.fail("classifications", "needs at least one {scheme, code}")
    r.max_items("classifications", e["classifications"], 32)
    seen = set()
    for i, c in enumerate(e["classifications"]):
        r.classification(f"classifications[{i}]", c)
        if (c["scheme"], c["code"]) in seen:
            r.fail(f"classifications[{i}]", "repeats an earlier classification")
        seen.add((c["scheme"], c["code"]))
    offer = e["entry_type"] == "offer"
    if offer and not e["transfer_modes"]:
        r.fail("transfer_modes", "an offer needs at least one transfer mode")
    if len(set(e["transfer_modes"])) != len(e["transfer_modes"]):
        r.fail("transfer_modes", "lists a mode twice")
    trl = e["trl"]
    if trl is None:
        if offer:
            r.fail("trl", "an offer needs a maturity level {scheme, level}")
    elif trl["scheme"] not in MATURITY_RANGE:
        r.fail("trl.scheme", f"{trl['scheme']!r} is not a maturity scale")
    else:
        lo, hi = MATURITY_RANGE[trl["scheme"]]
        if not lo <= trl["level"] <= hi:
            r.fail("trl.level", f"{trl['level']} is outside {lo}-{hi}")
    if e["ipr"] is not None:
        r.max_items("ipr.patents", e["ipr"]["patents"], 64)
        for i, p in enumerate(e["ipr"]["patents"]):
            r.text(f"ipr.patents[{i}]", p, 64)
    org = e["organisation"]
    r.lang_map("organisation.name", org["name"], True, 256)
    r.country("organisation.country", org["country"])
    if org["region"] is not None:
        region, cc = org["region"], org["country"]
        sub = region[len(cc) + 1:]
        if not (region.startswith(cc + "-") and 1 <= len(sub) <= 3 and all(c.isascii() and (c.isupper() or c.isdigit()) for c in sub)):
            r.fail("organisation.region", f"{region!r} is not an ISO 3166-2 subdivision of {cc!r}")
    r.max_items("target_countries", e["target_countries"], 64)
    for i, cc in enumerate(e["target_countries"]):
        r.country(f"target_countries[{i}]", cc)
    if e["price"] is not None:
        if not DECIMAL.match(e["price"]["amount"]):
            r.fail("price.amount", "is not a decimal amount")
        cur = e["price"]["currency"]
        if not (len(cur) == 3 and all("A" <= c <= "Z" for c in cur)):
            r.fail("price.currency", "is not an ISO 4217 currency code")
    start, until = parse_date(e["valid_from"]), parse_date(e["valid_until"])
    if start is None:
        r.fail("valid_from", "is not a date YYYY-MM-DD")
    if until is None:
        r.fail("valid_until", "is not a date YYYY-MM-DD")
    if start and until:
        y, m, d = start
        limit = (y + 2, m, min(d, _days_in_month(y + 2, m)))
        if until < start:
            r.fail("valid_until", "is before valid_from")
        elif until > limit:
            r.fail("valid_until", "is more than 2 years after valid_from")
    r.max_items("events", e["events"], 32)
    for i, ev in enumerate(e["events"]):
        r.local_id(f"events[{i}]", ev)


def check_mapping_set(ms, r):
    r.local_id("local_id", ms["local_id"])
    r.lang_map("title", ms["title"], True, 256)
    schemes = {}
    for side in ("subject_scheme", "object_scheme"):
        if ms[side] in SCHEMES:
            schemes[side] = ms[side]
        else:
            r.fail(side, f"{ms[side]!r} is not a known classification scheme")
    if ms["license"] is not None:
        r.text("license", ms["license"], 128)
    if not ms["mappings"]:
        r.fail("mappings", "needs at least one mapping")
    r.max_items("mappings", ms["mappings"], 2000)
    seen = set()
    for i, m in enumerate(ms["mappings"]):
        p = f"mappings[{i}]"
        if "subject_scheme" in schemes:
            r.code(f"{p}.subject", schemes["subject_scheme"], m["subject"])
        if "object_scheme" in schemes:
            r.code(f"{p}.object", schemes["object_scheme"], m["object"])
        if m["confidence"] is not None and not 0.0 <= m["confidence"] <= 1.0:
            r.fail(f"{p}.confidence", "is outside [0, 1]")
        key = (m["subject"], m["predicate"], m["object"])
        if key in seen:
            r.fail(p, "repeats an earlier (subject, predicate, object)")
        seen.add(key)


def check_event(ev, r):
    r.local_id("local_id", ev["local_id"])
    r.lang_map("title", ev["title"], True, 256)
    r.lang_map("description", ev["description"], False, 4000)
    start, end = parse_date(ev["starts_on"]), parse_date(ev["ends_on"])
    if start is None:
        r.fail("starts_on", "is not a date YYYY-MM-DD")
    if end is None:
        r.fail("ends_on", "is not a date YYYY-MM-DD")
    if start and end:
        if end < start:
            r.fail("ends_on", "is before starts_on")
        elif days_from_civil(*end) - days_from_civil(*start) > 60:
            r.fail("ends_on", "the event lasts more than 60 days")
    r.lang_map("organiser.name", ev["organiser"]["name"], True, 256)
    r.country("organiser.country", ev["organiser"]["country"])
    r.max_items("themes", ev["themes"], 32)
    for i, t in enumerate(ev["themes"]):
        r.classification(f"themes[{i}]", t)
    if ev["venue"] is None:
        if ev["mode"] in ("onsite", "hybrid"):
            r.fail("venue", "an onsite or hybrid event needs a venue {city, country}")
    else:
        r.text("venue.city", ev["venue"]["city"], 128)
        r.country("venue.country", ev["venue"]["country"])
    r.max_items("participants", ev["participants"], 256)
    for i, p in enumerate(ev["participants"]):
        if not HEX64.match(p):
            r.fail(f"participants[{i}]", "is not a publisher key (64 lowercase hex digits)")


def check_tombstone(t, r):
    r.local_id("local_id", t["local_id"])
    if t["target_kind"] == "tombstone":
        r.fail("target_kind", "a tombstone cannot withdraw a tombstone")
    if t["reason"] is not None:
        r.text("reason", t["reason"], 500)


ROLE_ORDER = ("publish_entries", "publish_events", "observer")
SCOPE_ORDER = ("federation", "national", "international")
PEER_ID_CHARS = set("123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz")


def _strictly_sorted(keys):
    return all(a < b for a, b in zip(keys, keys[1:]))


def _region_of(region, cc):
    sub = region[len(cc) + 1:]
    return region.startswith(cc + "-") and 1 <= len(sub) <= 3 and all(c.isascii() and (c.isupper() or c.isdigit()) for c in sub)


def check_membership(ml, r):
    """PROTOCOL.md §6.9: a federation anchor's signed membership list."""
    r.local_id("local_id", ml["local_id"])
    r.text("federation", ml["federation"], 256)
    r.max_items("members", ml["members"], 200)
    names, keys, peers = set(), set(), set()
    for i, m in enumerate(ml["members"]):
        p = f"members[{i}]"
        r.text(f"{p}.name", m["name"], 256)
        if _trim(m["name"]) != m["name"]:
            r.fail(f"{p}.name", "has leading or trailing spaces")
        r.country(f"{p}.country", m["country"])
        if m["region"] is not None and not _region_of(m["region"], m["country"]):
            r.fail(f"{p}.region", f"{m['region']!r} is not an ISO 3166-2 region of {m['country']}")
        if not m["publisher_keys"] and not m["peer_ids"]:
            r.fail(p, "lists neither publisher_keys nor peer_ids: nothing would be admitted")
        r.max_items(f"{p}.publisher_keys", m["publisher_keys"], 4)
        for j, k in enumerate(m["publisher_keys"]):
            path = f"{p}.publisher_keys[{j}]"
            if not HEX64.match(k):
                r.fail(path, f"{k!r} is not a publisher key (64 lowercase hex digits)")
                continue
            point = decode_point(bytes.fromhex(k))
            if point in ("non_canonical", "not_on_curve"):
                r.fail(path, f"not a valid public key ({point})")
            elif is_small_order(point):
                r.fail(path, "a small-order (weak) public key")
        r.max_items(f"{p}.peer_ids", m["peer_ids"], 4)
        for j, pid in enumerate(m["peer_ids"]):
            if not (40 <= len(pid) <= 60 and set(pid) <= PEER_ID_CHARS):
                r.fail(f"{p}.peer_ids[{j}]", f"{pid!r} is not a libp2p peer id")
        r.max_items(f"{p}.addresses", m["addresses"], 8)
        for j, a in enumerate(m["addresses"]):
            if not (a.startswith("/") and len(a) <= 256 and not any(c.isspace() or _is_control(c) for c in a)):
                r.fail(f"{p}.addresses[{j}]", f"{a!r} is not a multiaddr")
        if not _strictly_sorted([ROLE_ORDER.index(x) for x in m["roles"]]):
            r.fail(f"{p}.roles", "must be sorted and without duplicates")
        if "observer" in m["roles"] and (len(m["roles"]) > 1 or m["publish_mappings"]):
            r.fail(f"{p}.roles", "an observer may not also publish")
        for j, pair in enumerate(m["publish_mappings"]):
            a, sep, b = pair.partition("->")
            if not sep or a not in SCHEMES or b not in SCHEMES:
                r.fail(f"{p}.publish_mappings[{j}]", f"{pair!r} is not a scheme pair such as 'gbt4754->nace2'")
        if not _strictly_sorted(m["publish_mappings"]):
            r.fail(f"{p}.publish_mappings", "must be sorted and without duplicates")
        if not _strictly_sorted([SCOPE_ORDER.index(x) for x in m["receive_scopes"]]):
            r.fail(f"{p}.receive_scopes", "must be in the order federation, national, international, without duplicates")
        if m["name"] in names:
            r.fail(f"{p}.name", f"{m['name']!r} is listed twice")
        names.add(m["name"])
        for j, k in enumerate(m["publisher_keys"]):
            if k in keys:
                r.fail(f"{p}.publisher_keys[{j}]", f"key {k} is listed twice")
            keys.add(k)
        for j, pid in enumerate(m["peer_ids"]):
            if pid in peers:
                r.fail(f"{p}.peer_ids[{j}]", f"peer id {pid} is listed twice")
            peers.add(pid)


CHECKS = {"entry": check_entry, "mapping_set": check_mapping_set, "event": check_event, "tombstone": check_tombstone, "membership": check_membership}


def check_body(kind, value):
    """Raise Invalid('invalid_body') with every broken rule, or return the typed body."""
    if not isinstance(value, dict):
        raise Invalid("invalid_body", "a body must be a JSON object")
    try:
        body = shape_of(BODY_SHAPES[kind], value, "")
    except BodyErrors as e:
        raise Invalid("invalid_body", "; ".join(e.args[0]))
    r = Rules()
    CHECKS[kind](body, r)
    if r.errors:
        raise Invalid("invalid_body", "; ".join(r.errors))
    return body


# ---------------------------------------------------------------------------------
# §3-§4 the envelope and the verification procedure
# ---------------------------------------------------------------------------------


def _envelope_str(env, name):
    if name not in env:
        raise Invalid("bad_envelope", f"{name} is missing")
    if not isinstance(env[name], str):
        raise Invalid("bad_envelope", f"{name} must be a string")
    return env[name]


def signing_input(env):
    unsigned = {k: v for k, v in env.items() if k != "sig"}
    return SIGNING_PREFIX + jcs(unsigned)


def verify(data, now, skew):
    """The verification procedure of PROTOCOL.md §4.5. Returns (envelope, signing input)."""
    # 1. size
    if len(data) > MAX_RECORD_BYTES:
        raise Invalid("too_large", f"{len(data)} bytes")
    # 2. canonical form
    env = decode_strict(data)
    # 3. envelope
    if not isinstance(env, dict):
        raise Invalid("bad_envelope", "a record is a JSON object")
    # The version first: a later version may add members this one does not know.
    if "v" not in env:
        raise Invalid("bad_envelope", "v is missing")
    v = env["v"]
    if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= U64_MAX:
        raise Invalid("bad_envelope", "v must be the integer 1")
    if v != 1:
        raise Invalid("unsupported_version", str(v))
    extra = sorted(set(env) - ENVELOPE_MEMBERS)
    if extra:
        raise Invalid("bad_envelope", f"unknown envelope member {extra[0]!r}")
    kind = _envelope_str(env, "kind")
    if kind not in KINDS:
        raise Invalid("bad_envelope", f"unknown kind {kind!r}")
    publisher = _envelope_str(env, "publisher")
    if not HEX64.match(publisher):
        raise Invalid("bad_envelope", "publisher must be 64 lowercase hex digits")
    seq = _envelope_str(env, "seq")
    if not re.match(r"[1-9][0-9]*\Z", seq) or int(seq) > U64_MAX:
        raise Invalid("bad_envelope", "seq must be a decimal string from 1 to 2^64-1, no leading zeros")
    issued_at = parse_timestamp(_envelope_str(env, "issued_at"))
    if issued_at is None:
        raise Invalid("bad_envelope", "issued_at must be YYYY-MM-DDTHH:MM:SSZ")
    sig_hex = _envelope_str(env, "sig")
    if not re.match(r"[0-9a-f]{128}\Z", sig_hex):
        raise Invalid("bad_envelope", "sig must be 128 lowercase hex digits")
    if "body" not in env:
        raise Invalid("bad_envelope", "body is missing")
    # 4. body rules
    check_body(kind, env["body"])
    # 5. publisher key
    key = bytes.fromhex(publisher)
    point = decode_point(key)
    if point in ("non_canonical", "not_on_curve"):
        raise Invalid("non_canonical_key", point)
    if is_small_order(point):
        raise Invalid("weak_key", "small-order point")
    # 6. signature (strict)
    msg = signing_input(env)
    sig = bytes.fromhex(sig_hex)
    if int.from_bytes(sig[32:], "little") >= L:
        raise Invalid("bad_signature", "S is not below the group order L")
    r_point = decode_point(sig[:32])
    if r_point in ("non_canonical", "not_on_curve") or is_small_order(r_point):
        raise Invalid("bad_signature", f"R is {r_point if isinstance(r_point, str) else 'of small order'}")
    import nacl.exceptions
    import nacl.signing

    try:
        nacl.signing.VerifyKey(key).verify(msg, sig)
    except nacl.exceptions.BadSignatureError:
        raise Invalid("bad_signature", "the ed25519 equation does not hold")
    # 7. clock
    if issued_at > now + skew:
        raise Invalid("future_timestamp", f"{env['issued_at']} is more than {skew} s after now")
    return env, msg


# ---------------------------------------------------------------------------------
# the vector files
# ---------------------------------------------------------------------------------


def describe(expect, reason):
    return expect if expect == "valid" else f"invalid ({reason})"


def check_vector(v):
    """Problems with one vector (empty list: it concludes as documented)."""
    problems = []
    data = bytes.fromhex(v["record_hex"])
    try:
        if data.decode("utf-8") != v["record"]:
            problems.append("`record` is not the text of `record_hex`")
    except UnicodeDecodeError:
        pass
    if hashlib.sha256(data).hexdigest() != v["hash"]:
        problems.append("SHA-256 of the record bytes is not `hash`")
    if v.get("seed"):
        import nacl.signing

        derived = bytes(nacl.signing.SigningKey(bytes.fromhex(v["seed"])).verify_key).hex()
        if derived != v["public_key"]:
            problems.append("`seed` does not give `public_key`")
    now = parse_timestamp(v["now"])
    try:
        env, msg = verify(data, now, int(v["max_future_skew_secs"]))
        got = ("valid", None)
    except Invalid as e:
        env, msg, got = None, None, ("invalid", e.reason)
    want = (v["expect"], v.get("reason"))
    if got != want:
        problems.append(f"expected {describe(*want)} got {describe(*got)}")
    if got[0] == "valid":
        if msg.hex() != v["signing_input_hex"]:
            problems.append("the signing input built here is not `signing_input_hex`")
        if env["publisher"] != v["public_key"]:
            problems.append("the record's publisher is not `public_key`")
    return problems


def run(directory):
    with open(os.path.join(directory, "index.json"), encoding="utf-8") as f:
        names = json.load(f)
    passed = failed = 0
    for file_name in names:
        with open(os.path.join(directory, file_name), encoding="utf-8") as f:
            vector = json.load(f)
        name = vector.get("name", file_name)
        problems = check_vector(vector)
        if problems:
            failed += 1
            print(f"FAIL {name}: {'; '.join(problems)}")
        else:
            passed += 1
            print(f"ok  {name}")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


# ---------------------------------------------------------------------------------
# --self-test: the canonical form against RFC 8785's own examples
# ---------------------------------------------------------------------------------


def self_test():
    cases = [
        # RFC 8785 appendix B (IEEE-754 value -> ECMAScript string), plus a few of ours.
        (0.0, "0"), (-0.0, "0"), (1.0, "1"), (5e-324, "5e-324"), (1.7976931348623157e308, "1.7976931348623157e+308"),
        (9007199254740992.0, "9007199254740992"), (9007199254740994.0, "9007199254740994"),
        (1e21, "1e+21"), (999999999999999900000.0, "999999999999999900000"), (1e-6, "0.000001"),
        (1e-7, "1e-7"), (0.9, "0.9"), (333333333.3333333, "333333333.3333333"),
        (295147905179352830000.0, "295147905179352830000"), (4.5, "4.5"), (2e-3, "0.002"),
        (0.000001, "0.000001"), (1.5e-7, "1.5e-7"), (123456789012345680000.0, "123456789012345680000"),
        (18446744073709551615, "18446744073709552000"), (6, "6"),
    ]
    bad = 0
    for value, want in cases:
        got = es_number(value)
        if got != want:
            bad += 1
            print(f"FAIL es_number({value!r}) = {got!r}, want {want!r}")
    rfc = {"numbers": [333333333.3333333, 1e30, 4.5, 2e-3, 1e-27], "string": "\u20ac$\u000f\nA'B\"\\\\\"/", "literals": [None, True, False]}
    want = b'{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"\xe2\x82\xac$\\u000f\\nA\'B\\"\\\\\\\\\\"/"}'
    if jcs(rfc) != want:
        bad += 1
        print(f"FAIL RFC 8785 §3.2.2 example: {jcs(rfc)!r}")
    order = {"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
             "1": "One", "\U0001f600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis"}
    keys = [k for k in json.loads(jcs(order).decode("utf-8"))]
    if keys != ["\r", "1", "\u0080", "\u00f6", "\u20ac", "\U0001f600", "\ufb33"]:
        bad += 1
        print(f"FAIL RFC 8785 §3.2.3 sort order: {keys!r}")
    for text, reason in [
        (b'{"a":1,"b":"x"}', None),
        (b'{"b":"x","a":1}', "not_canonical"), (b'{"a": 1,"b":"x"}', "not_canonical"),
        (b'{"a":1.0,"b":"x"}', "not_canonical"), (b'{"a":1e0,"b":"x"}', "not_canonical"),
        (b'{"a":1,"b":"\\u0078"}', "not_canonical"), (b'{"a":1,"a":1,"b":"x"}', "not_canonical"),
        (b'\xef\xbb\xbf{"a":1,"b":"x"}', "not_json"), (b'{"a":1,"b":"x"}\n', "not_canonical"),
        (b'{"a":"\xff"}', "not_json"), (b'{"a":"\\ud800"}', "not_json"), (b'{"a":NaN}', "not_json"),
        (b'{"a":-0}', "not_canonical"), (b'{"a":"\\/"}', "not_canonical"), (b'{"a":"\x7f"}', None),
        (b'{"a":' + b"[" * 126 + b"]" * 126 + b"}", None), (b'{"a":' + b"[" * 127 + b"]" * 127 + b"}", "not_json"),
        (b'{"a":1e400}', "not_json"), (b'{"a":1e-400}', "not_canonical"), (b'{"a":1E+21}', "not_canonical"),
    ]:
        try:
            decode_strict(text)
            got = None
        except Invalid as e:
            got = e.reason
        if got != reason:
            bad += 1
            print(f"FAIL decode_strict({text!r}) -> {got}, want {reason}")
    print(f"self-test: {'ok' if not bad else f'{bad} failed'}")
    return 1 if bad else 0


def main(argv):
    try:
        import nacl.signing  # noqa: F401
    except ImportError:
        print("check_vectors.py needs PyNaCl: pip install -r scripts/requirements-test.txt", file=sys.stderr)
        return 2
    if argv[1:2] == ["--self-test"]:
        return self_test()
    directory = argv[1] if len(argv) > 1 else os.path.join("docs", "vectors")
    return run(directory)


if __name__ == "__main__":
    sys.exit(main(sys.argv))
