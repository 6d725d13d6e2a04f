"""Message templates (docs/business.md section 6): what a business may submit, and what a send of a
template must carry — checked and rendered by one function that the server and the business
endpoint share.

A template's components are kept as the JSON the business sent (the Cloud API's shapes): ``HEADER``
(``format`` ``TEXT`` with at most one placeholder, or ``IMAGE``, ``VIDEO``, ``DOCUMENT``,
``LOCATION``), ``BODY`` (the one required component; placeholders ``{{1}}``, ``{{2}}``, … in order
with ``parameter_format`` ``POSITIONAL``, or ``{{first_name}}`` with ``NAMED``), ``FOOTER`` (no
placeholder) and ``BUTTONS`` (``QUICK_REPLY``, ``URL`` with at most one placeholder at the end of
its ``url``, ``PHONE_NUMBER``, ``COPY_CODE``, ``OTP``). A placeholder needs an ``example``. An
``AUTHENTICATION`` template's body is Meta's fixed text (``{{1}}`` is the code) and it needs an
``OTP`` button.

Everything here works on plain JSON values (what ``msgspec.json.decode`` gives), so that both the
server (``proto.cloud`` bodies) and the SDK's endpoint can call it; a failure is a ``CloudApiError``
naming the field (``100`` when creating, ``132000`` when sending).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from passerelle.domain.business.consent import Category
from passerelle.domain.business.errors import CloudApiError, Failure

NAME: Final = re.compile(r"^[a-z0-9_]{1,512}$")
LANGUAGE: Final = re.compile(r"^[a-z]{2,3}(?:_[A-Za-z]{2,4})?$")
"""``en``, ``en_US``, ``zh_CN``, ``sr_Latn``…"""
PLACEHOLDER: Final = re.compile(r"\{\{\s*([^{}]*?)\s*\}\}")
NAMED_PARAMETER: Final = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
POSITIONAL: Final = "POSITIONAL"
NAMED: Final = "NAMED"
HEADER_FORMATS: Final = frozenset({"TEXT", "IMAGE", "VIDEO", "DOCUMENT", "LOCATION"})
BUTTON_TYPES: Final = frozenset({"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE", "OTP"})
BODY_MAX: Final = 1024
HEADER_MAX: Final = 60
FOOTER_MAX: Final = 60
BUTTON_TEXT_MAX: Final = 25
BUTTONS_MAX: Final = 10
PARAMETER_MAX: Final = 1024
AUTHENTICATION_BODY: Final = "*{{1}}* is your verification code."
"""Meta writes an authentication template's body itself; the business only chooses options."""
SECURITY_NOTE: Final = "For your security, do not share this code."

Json = object
"""A value decoded from JSON: dict, list, str, int, float, bool or None."""


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckedTemplate:
    name: str
    language: str
    category: Category
    parameter_format: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Rendered:
    """One component of a template as the person sees it."""

    type: str
    """``HEADER``, ``BODY``, ``FOOTER`` or ``BUTTON``."""
    text: str = ""
    media: str | None = None
    """For a media header: ``image``, ``video``, ``document`` or ``location``, and ``link`` its id or URL."""
    link: str | None = None
    button: str | None = None
    """For a button: its type (``QUICK_REPLY``, ``URL``…); ``text`` is its label and ``link`` its URL."""
    index: int | None = None


def auto_approve_rule(text: str) -> frozenset[Category]:
    """The setting ``business_template_auto_approve``: ``none``, ``all`` or a comma-separated list
    of categories (``utility,authentication``). ``ValueError`` on anything else."""
    words = [w.strip().upper() for w in text.split(",") if w.strip()]
    if not words or words == ["NONE"]:
        return frozenset()
    if words == ["ALL"]:
        return frozenset(Category)
    try:
        return frozenset(Category(w) for w in words)
    except ValueError:
        raise ValueError(
            "expected none, all, or categories among marketing, utility, authentication"
        ) from None


def _bad(field: str, problem: str) -> CloudApiError:
    return CloudApiError(Failure.INVALID_PARAMETER, problem, field=field)


def _mismatch(field: str, problem: str) -> CloudApiError:
    return CloudApiError(Failure.TEMPLATE_PARAMETERS, f"{field}: {problem}")


def _str(value: Json, field: str, *, max_length: int, required: bool = True) -> str:
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise _bad(field, "must be a non-empty string")
    if len(value) > max_length:
        raise _bad(field, f"must be at most {max_length} characters")
    return value


def placeholders(text: str) -> list[str]:
    """The placeholders of a text, in order of appearance (``"Hi {{1}}"`` → ``["1"]``)."""
    return [m.group(1) for m in PLACEHOLDER.finditer(text)]


def _check_placeholders(
    text: str, field: str, parameter_format: str, *, at_most: int | None = None
) -> list[str]:
    names = placeholders(text)
    if at_most is not None and len(names) > at_most:
        raise _bad(field, f"may hold at most {at_most} placeholder")
    if parameter_format == POSITIONAL:
        if any(not n.isdigit() for n in names):
            raise _bad(field, "placeholders are {{1}}, {{2}}, … with parameter_format POSITIONAL")
        distinct = sorted({int(n) for n in names})
        if distinct != list(range(1, len(distinct) + 1)):
            raise _bad(field, "placeholders must be numbered from {{1}} without gaps")
        return [str(n) for n in distinct]
    if any(not NAMED_PARAMETER.match(n) for n in names):
        raise _bad(field, "named placeholders are lower-case letters, digits and _, starting with a letter")
    seen: list[str] = []
    for n in names:
        if n not in seen:
            seen.append(n)
    return seen


def _examples(
    example: Json, key: str, named_key: str, field: str, parameter_format: str, wanted: list[str]
) -> None:
    """A text with placeholders needs an example value for each (Meta rejects it otherwise)."""
    if not wanted:
        return
    if not isinstance(example, Mapping):
        raise _bad(f"{field}.example", "is required when the text has placeholders")
    if parameter_format == POSITIONAL:
        values = example.get(key)
        if isinstance(values, list) and values and isinstance(values[0], list):
            values = values[0]  # body_text is a list of lists
        if (
            not isinstance(values, list)
            or len(values) != len(wanted)
            or not all(isinstance(v, str) for v in values)
        ):
            raise _bad(f"{field}.example.{key}", f"needs {len(wanted)} example value(s), one per placeholder")
        return
    named = example.get(named_key)
    if not isinstance(named, list):
        raise _bad(f"{field}.example.{named_key}", "needs one {param_name, example} per placeholder")
    given = {
        e.get("param_name") for e in named if isinstance(e, Mapping) and isinstance(e.get("example"), str)
    }
    if given != set(wanted):
        raise _bad(f"{field}.example.{named_key}", f"needs exactly the placeholders {', '.join(wanted)}")


def check_template(
    *,
    name: Json,
    language: Json,
    category: Json,
    parameter_format: Json,
    components: Json,
) -> CheckedTemplate:
    """A template a business submits, as the Cloud API checks it; ``CloudApiError`` (100) names
    the first field that is wrong."""
    if not isinstance(name, str) or not NAME.match(name):
        raise _bad("name", "must be 1 to 512 lower-case letters, digits and underscores")
    if not isinstance(language, str) or not LANGUAGE.match(language):
        raise _bad("language", "must be a language code such as en or en_US")
    try:
        checked_category = Category(category) if isinstance(category, str) else None
    except ValueError:
        checked_category = None
    if checked_category is None:
        raise _bad("category", "must be MARKETING, UTILITY or AUTHENTICATION")
    fmt = POSITIONAL if parameter_format is None else parameter_format
    if fmt not in (POSITIONAL, NAMED):
        raise _bad("parameter_format", "must be POSITIONAL or NAMED")
    assert isinstance(fmt, str)
    if not isinstance(components, list) or not components:
        raise _bad("components", "must be a non-empty list")
    seen: set[str] = set()
    for i, component in enumerate(components):
        field = f"components[{i}]"
        if not isinstance(component, Mapping):
            raise _bad(field, "must be an object")
        kind = component.get("type")
        kind = kind.upper() if isinstance(kind, str) else kind
        if kind not in ("HEADER", "BODY", "FOOTER", "BUTTONS"):
            raise _bad(f"{field}.type", "must be HEADER, BODY, FOOTER or BUTTONS")
        if kind in seen:
            raise _bad(f"{field}.type", f"a template has at most one {kind}")
        seen.add(kind)
        if kind == "HEADER":
            _check_header(component, field, fmt)
        elif kind == "BODY":
            _check_body(component, field, fmt, checked_category)
        elif kind == "FOOTER":
            if checked_category is Category.AUTHENTICATION and component.get("text") is None:
                minutes = component.get("code_expiration_minutes")
                if not isinstance(minutes, int) or isinstance(minutes, bool) or not 1 <= minutes <= 90:
                    raise _bad(f"{field}.code_expiration_minutes", "must be 1 to 90")
                continue
            text = _str(component.get("text"), f"{field}.text", max_length=FOOTER_MAX)
            if placeholders(text):
                raise _bad(f"{field}.text", "a footer has no placeholder")
        else:
            _check_buttons(component, field)
    if "BODY" not in seen:
        raise _bad("components", "a template needs a BODY")
    if checked_category is Category.AUTHENTICATION and not _has_otp_button(components):
        raise _bad("components", "an AUTHENTICATION template needs a BUTTONS component with an OTP button")
    return CheckedTemplate(name=name, language=language, category=checked_category, parameter_format=fmt)


def _check_header(component: Mapping[str, Json], field: str, fmt: str) -> None:
    header_format = component.get("format", "TEXT")
    header_format = header_format.upper() if isinstance(header_format, str) else header_format
    if header_format not in HEADER_FORMATS:
        raise _bad(f"{field}.format", "must be TEXT, IMAGE, VIDEO, DOCUMENT or LOCATION")
    if header_format == "TEXT":
        text = _str(component.get("text"), f"{field}.text", max_length=HEADER_MAX)
        wanted = _check_placeholders(text, f"{field}.text", fmt, at_most=1)
        _examples(component.get("example"), "header_text", "header_text_named_params", field, fmt, wanted)
    elif header_format != "LOCATION":
        example = component.get("example")
        handles = example.get("header_handle") if isinstance(example, Mapping) else None
        if not isinstance(handles, list) or not handles or not isinstance(handles[0], str):
            raise _bad(f"{field}.example.header_handle", "a media header needs an example (a handle or URL)")


def _check_body(component: Mapping[str, Json], field: str, fmt: str, category: Category) -> None:
    if category is Category.AUTHENTICATION:
        if component.get("text") is not None:
            _str(component.get("text"), f"{field}.text", max_length=BODY_MAX)
        return
    text = _str(component.get("text"), f"{field}.text", max_length=BODY_MAX)
    wanted = _check_placeholders(text, f"{field}.text", fmt)
    _examples(component.get("example"), "body_text", "body_text_named_params", field, fmt, wanted)


def _check_buttons(component: Mapping[str, Json], field: str) -> None:
    buttons = component.get("buttons")
    if not isinstance(buttons, list) or not 1 <= len(buttons) <= BUTTONS_MAX:
        raise _bad(f"{field}.buttons", f"must hold 1 to {BUTTONS_MAX} buttons")
    for j, button in enumerate(buttons):
        where = f"{field}.buttons[{j}]"
        if not isinstance(button, Mapping):
            raise _bad(where, "must be an object")
        kind = button.get("type")
        if kind not in BUTTON_TYPES:
            raise _bad(f"{where}.type", f"must be one of {', '.join(sorted(BUTTON_TYPES))}")
        if kind == "OTP":
            if button.get("otp_type") not in ("COPY_CODE", "ONE_TAP", "ZERO_TAP"):
                raise _bad(f"{where}.otp_type", "must be COPY_CODE, ONE_TAP or ZERO_TAP")
            _str(button.get("text"), f"{where}.text", max_length=BUTTON_TEXT_MAX, required=False)
            continue
        if kind == "COPY_CODE":
            if not isinstance(button.get("example"), str | list):
                raise _bad(f"{where}.example", "a COPY_CODE button needs an example code")
            continue
        _str(button.get("text"), f"{where}.text", max_length=BUTTON_TEXT_MAX)
        if kind == "URL":
            url = _str(button.get("url"), f"{where}.url", max_length=2000)
            if not url.startswith(("https://", "http://")):
                raise _bad(f"{where}.url", "must be an http(s) URL")
            names = placeholders(url)
            if len(names) > 1 or (names and not url.rstrip().endswith("}}")):
                raise _bad(f"{where}.url", "may end with one placeholder, {{1}}")
            if names and not isinstance(button.get("example"), str | list):
                raise _bad(f"{where}.example", "a URL with a placeholder needs an example")
        elif kind == "PHONE_NUMBER":
            _str(button.get("phone_number"), f"{where}.phone_number", max_length=20)


def _has_otp_button(components: Sequence[Json]) -> bool:
    for component in components:
        if isinstance(component, Mapping) and str(component.get("type", "")).upper() == "BUTTONS":
            buttons = component.get("buttons")
            if isinstance(buttons, list) and any(
                isinstance(b, Mapping) and b.get("type") == "OTP" for b in buttons
            ):
                return True
    return False


# -- sending: the parameters against the placeholders ----------------------------------------------


def render(
    *, components: Sequence[Json], parameter_format: str, category: Category, sent: Sequence[Json] | None
) -> list[Rendered]:
    """The components a person sees for a send of the template whose stored ``components`` are given,
    with the send's ``template.components`` (``sent``, JSON values; None or [] when none). Raises
    ``CloudApiError`` 132000 when the parameters do not match the placeholders (count, names or type
    per component)."""
    given = _sent_by_component(sent or [])
    out: list[Rendered] = []
    for component in components:
        if not isinstance(component, Mapping):
            continue
        kind = str(component.get("type", "")).upper()
        if kind == "HEADER":
            out.append(_render_header(component, parameter_format, given.pop("HEADER", None)))
        elif kind == "BODY":
            out.append(_render_body(component, parameter_format, category, given.pop("BODY", None)))
        elif kind == "FOOTER":
            minutes = component.get("code_expiration_minutes")
            text = component.get("text")
            if text is None and isinstance(minutes, int):
                text = f"This code expires in {minutes} minutes."
            out.append(Rendered(type="FOOTER", text=str(text or "")))
        elif kind == "BUTTONS":
            out.extend(_render_buttons(component, given))
    for key, parameters in given.items():
        if parameters:
            raise _mismatch(_where(key), "the template has no placeholder there")
    return out


def _where(key: str) -> str:
    return key if not key.startswith("BUTTON:") else f"button[{key.split(':', 1)[1]}]"


def _sent_by_component(sent: Sequence[Json]) -> dict[str, list[Mapping[str, Json]]]:
    found: dict[str, list[Mapping[str, Json]]] = {}
    for i, component in enumerate(sent):
        if not isinstance(component, Mapping):
            raise _mismatch(f"components[{i}]", "must be an object")
        kind = str(component.get("type", "")).upper()
        if kind == "BUTTON":
            index = component.get("index")
            try:
                key = f"BUTTON:{int(str(index))}"
            except ValueError:
                raise _mismatch(f"components[{i}].index", "a button component needs its index") from None
        elif kind in ("HEADER", "BODY"):
            key = kind
        else:
            raise _mismatch(f"components[{i}].type", "must be header, body or button")
        if key in found:
            raise _mismatch(f"components[{i}]", "the component is given twice")
        parameters = component.get("parameters") or []
        if not isinstance(parameters, list) or not all(isinstance(p, Mapping) for p in parameters):
            raise _mismatch(f"components[{i}].parameters", "must be a list of objects")
        found[key] = parameters
    return found


def _text_value(parameter: Mapping[str, Json], field: str) -> str:
    kind = parameter.get("type")
    if kind == "text":
        value = parameter.get("text")
    elif kind in ("currency", "date_time"):
        inner = parameter.get(kind)
        value = inner.get("fallback_value") if isinstance(inner, Mapping) else None
    else:
        raise _mismatch(
            field, f"a text placeholder takes a text, currency or date_time parameter, not {kind!r}"
        )
    if not isinstance(value, str) or not value:
        raise _mismatch(field, "the parameter has no text")
    if len(value) > PARAMETER_MAX:
        raise _mismatch(field, f"a parameter is at most {PARAMETER_MAX} characters")
    return value


def _fill(
    text: str, wanted: list[str], parameters: list[Mapping[str, Json]] | None, where: str, fmt: str
) -> str:
    parameters = parameters or []
    if len(parameters) != len(wanted):
        raise _mismatch(where, f"expected {len(wanted)} parameter(s), got {len(parameters)}")
    values: dict[str, str] = {}
    for k, parameter in enumerate(parameters):
        field = f"{where}.parameters[{k}]"
        if fmt == NAMED:
            name = parameter.get("parameter_name")
            if not isinstance(name, str) or name not in wanted or name in values:
                raise _mismatch(field, f"parameter_name must be one of {', '.join(wanted)}, each once")
            values[name] = _text_value(parameter, field)
        else:
            values[wanted[k]] = _text_value(parameter, field)
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _render_header(
    component: Mapping[str, Json], fmt: str, parameters: list[Mapping[str, Json]] | None
) -> Rendered:
    header_format = str(component.get("format", "TEXT")).upper()
    if header_format == "TEXT":
        text = str(component.get("text", ""))
        names = placeholders(text)
        wanted = names[:1] if fmt == NAMED else sorted(set(names))
        return Rendered(type="HEADER", text=_fill(text, wanted, parameters, "header", fmt))
    media = header_format.lower()
    if not parameters or len(parameters) != 1 or parameters[0].get("type") != media:
        raise _mismatch("header", f"the header takes one {media} parameter")
    value = parameters[0].get(media)
    link = None
    if isinstance(value, Mapping):
        found = value.get("id") or value.get("link") or value.get("name")
        link = found if isinstance(found, str) else None
    return Rendered(type="HEADER", media=media, link=link)


def _render_body(
    component: Mapping[str, Json], fmt: str, category: Category, parameters: list[Mapping[str, Json]] | None
) -> Rendered:
    if category is Category.AUTHENTICATION:
        text = AUTHENTICATION_BODY
        if component.get("add_security_recommendation") is True:
            text += " " + SECURITY_NOTE
        return Rendered(type="BODY", text=_fill(text, ["1"], parameters, "body", POSITIONAL))
    text = str(component.get("text", ""))
    names = placeholders(text)
    wanted = sorted(set(names), key=int) if fmt == POSITIONAL else list(dict.fromkeys(names))
    return Rendered(type="BODY", text=_fill(text, wanted, parameters, "body", fmt))


def _render_buttons(
    component: Mapping[str, Json], given: dict[str, list[Mapping[str, Json]]]
) -> list[Rendered]:
    buttons = component.get("buttons")
    out: list[Rendered] = []
    for index, button in enumerate(buttons if isinstance(buttons, list) else []):
        if not isinstance(button, Mapping):
            continue
        kind = str(button.get("type", ""))
        parameters = given.pop(f"BUTTON:{index}", None)
        where = f"button[{index}]"
        label = str(button.get("text", "") or "")
        if kind == "URL":
            url = str(button.get("url", ""))
            wanted = placeholders(url)[:1]
            link = _fill(url, wanted, parameters, where, POSITIONAL)
            out.append(Rendered(type="BUTTON", button=kind, text=label, link=link, index=index))
        elif kind in ("OTP", "COPY_CODE"):
            if not parameters or len(parameters) != 1:
                raise _mismatch(where, "the code button takes one parameter")
            parameter = parameters[0]
            code = parameter.get("coupon_code") if kind == "COPY_CODE" else parameter.get("text")
            if not isinstance(code, str) or not code:
                raise _mismatch(f"{where}.parameters[0]", "the code is missing")
            out.append(
                Rendered(type="BUTTON", button=kind, text=label or "Copy code", link=code, index=index)
            )
        elif kind == "QUICK_REPLY":
            if parameters and (len(parameters) != 1 or parameters[0].get("type") != "payload"):
                raise _mismatch(where, "a quick reply takes at most one payload parameter")
            out.append(Rendered(type="BUTTON", button=kind, text=label, index=index))
        else:
            if parameters:
                raise _mismatch(where, "this button takes no parameter")
            phone = button.get("phone_number")
            out.append(
                Rendered(
                    type="BUTTON",
                    button=kind,
                    text=label,
                    link=phone if isinstance(phone, str) else None,
                    index=index,
                )
            )
    return out
