"""Legacy request parameters → upstream parameters, as the declarations' :class:`Param` say.

A form parameter becomes exactly one upstream value (renamed, number to E.164, through its value map).
A list filter may take the comparisons it declares (``StartTime>=2009-07-06`` reaches us as the name
``StartTime>``, URL-encoded ``StartTime%3E%3D`` as ``StartTime>=``), and a legacy value that its value
map sends to several upstream values fans the list out into several upstream queries.
"""

from __future__ import annotations

import itertools
import re
from datetime import date

from gateway.dialect import phone
from gateway.errors import BadRequest, InvalidPhoneNumber, MissingParameter
from gateway.resources.model import COMPARE_SUFFIX, Param

Query = list[tuple[str, str]]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_SHORT_CODE = re.compile(r"\d{5,6}")


def _short_code(param: Param, value: str) -> bool:
    return param.short_code and _SHORT_CODE.fullmatch(value.strip()) is not None


def _is_date(value: str) -> bool:
    if not _DATE.fullmatch(value):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return True


def _values(param: Param, value: str) -> tuple[str, ...]:
    if param.values is None:
        return (value,)
    mapped = param.values.upstream(value.strip())
    if not mapped:
        accepted = ", ".join(param.values.reverse)
        raise BadRequest(f"{param.name} must be one of {accepted}, not {value!r}")
    return mapped


def upstream_form(declared: tuple[Param, ...], params: dict[str, str], region: str) -> dict[str, str]:
    """Pops the declared parameters from ``params``; returns them under their upstream names. What is
    left in ``params`` the operation does not declare: it is never sent upstream (:mod:`.undeclared`)."""
    out: dict[str, str] = {}
    for param in declared:
        value = params.pop(param.name, None)
        if value is None or ((param.required or param.blank_absent) and not value.strip()):
            if param.required:
                code, message = param.missing or (None, None)
                raise MissingParameter(param.name, code, message)
            continue
        if _short_code(param, value):
            value = value.strip()
        elif param.phone:
            value = _number(param, value, params, out, region)
        if param.pattern is not None and not re.fullmatch(param.pattern, value.strip()):
            raise BadRequest(f"{param.name}: " + param.refusal.format(value=value), code=param.code)
        values = _values(param, value.strip() if param.pattern is not None else value)
        if len(values) != 1:
            raise BadRequest(f"{param.name}={value} names more than one upstream value")
        out[param.target] = values[0]
    return out


def _number(param: Param, value: str, params: dict[str, str], out: dict[str, str], region: str) -> str:
    parsed = phone.parse(value, region=region, name=param.name)
    if parsed.extension and param.split_extension_to:
        given = params.pop(param.split_extension_to, None)  # the same extension twice: consumed
        if given is not None and given != parsed.extension:
            raise BadRequest(
                f"{param.name} carries extension {parsed.extension} but {param.split_extension_to} is {given}"
            )
        out[param.split_extension_to] = parsed.extension
    elif parsed.extension:
        raise BadRequest(f"{param.name} must not carry an extension")
    return parsed.e164


def _spellings(param: Param) -> list[tuple[str, str]]:
    """(legacy name as it arrives, upstream name) for each comparison the filter takes."""
    found = []
    for op in param.compare:
        upstream = param.target + COMPARE_SUFFIX[op]
        if op == "=":
            found.append((param.name, upstream))
        else:
            found.append((param.name + op[0], upstream))  # StartTime>=D, form-decoded
            found.append((param.name + op, upstream))  # StartTime%3E%3D=D
    return found


def upstream_queries(filters: tuple[Param, ...], params: dict[str, str], region: str) -> list[Query]:
    """Pops the declared filters from ``params``; one upstream query per combination of fanned values,
    none when a phone filter's value can be no number (the filters match exactly: nothing matches)."""
    choices: list[list[tuple[str, str]]] = []
    spelled: dict[str, str] = {}
    for param in filters:
        for legacy, upstream in _spellings(param):
            value = params.pop(legacy, None)
            if value is None:
                continue
            if upstream in spelled:
                raise BadRequest(f"{legacy} and {spelled[upstream]} are the same filter; give it once")
            spelled[upstream] = legacy
            if param.date and not _is_date(value.strip()):
                raise BadRequest(f"{legacy} must be a date, YYYY-MM-DD")
            if _short_code(param, value):
                value = value.strip()
            elif param.phone:
                try:
                    value = phone.parse(value, region=region, name=param.name).e164
                except InvalidPhoneNumber:
                    choices.append([])  # an exact match on what can be no number: nothing matches
                    continue
            choices.append([(upstream, v) for v in _values(param, value.strip() if param.date else value)])
    return [list(combination) for combination in itertools.product(*choices)]
