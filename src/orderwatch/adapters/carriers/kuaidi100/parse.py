"""Kuaidi100 (快递100) subscription push → tracking events (D1; ANCHORS §2.1, §5 item 11).

Kuaidi100 posts ``application/x-www-form-urlencoded`` with two fields: ``param`` (a JSON text) and
``sign`` (see adapters/webhooks/signatures.py). ``param`` holds the full history, newest first::

    {"status": "polling", "message": "", "autoCheck": "0", "comOld": "", "comNew": "",
     "lastResult": {"nu": "SF1234567890", "com": "shunfeng", "state": "0", "ischeck": "0",
                    "data": [{"time": "2024-05-01 12:00:00", "ftime": "2024-05-01 12:00:00",
                              "context": "...", "location": "...", "areaName": "...",
                              "status": "在途", "statusCode": "1002"}]}}

``state``/``statusCode`` are Kuaidi100's state codes (0 在途 … 1003 转递, with resultv2 the
detailed ones). A history item's code is its ``statusCode``, else its Chinese status name looked up
in the same table, else — for the newest item only — the waybill's ``state``. Times are China
local time without an offset and are read in Asia/Shanghai.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

from orderwatch.adapters.carriers.base import (
    CHINA_TIME,
    ParseResult,
    PayloadProblem,
    StatusTable,
    clip_code,
    get_list,
    get_object,
    get_text,
    load_json,
    parse_local_datetime,
    problem,
    require_text,
)
from orderwatch.domain.commands import RecordTrackingEvent
from orderwatch.domain.shipments import ShipmentStatus as S

SOURCE = "kuaidi100"

# (state code, Chinese name, status). Basic states 0–8, 10–14, then the resultv2 detailed ones.
STATES: tuple[tuple[str, str, S], ...] = (
    ("0", "在途", S.in_transit),
    ("1001", "到达派件城市", S.in_transit),
    ("1002", "干线", S.in_transit),
    ("1003", "转递", S.in_transit),
    ("1", "揽收", S.picked_up),
    ("101", "已下单", S.created),
    ("102", "待揽收", S.created),
    ("103", "已揽收", S.picked_up),
    ("2", "疑难", S.exception),
    ("201", "超时未签收", S.exception),
    ("202", "超时未更新", S.exception),
    ("203", "拒收", S.refused),
    ("204", "派件异常", S.delivery_failed),
    ("205", "柜或驿站超时未取", S.exception),
    ("206", "无法联系", S.delivery_failed),
    ("207", "超区", S.exception),
    ("208", "滞留", S.exception),
    ("209", "破损", S.damaged),
    ("210", "销单", S.exception),
    ("3", "签收", S.delivered),
    ("301", "本人签收", S.delivered),
    ("302", "派件异常后签收", S.delivered),
    ("303", "代签", S.delivered),
    ("304", "投柜或站签收", S.delivered),
    ("4", "退签", S.returned),
    ("401", "已销单", S.exception),
    ("5", "派件", S.out_for_delivery),
    ("501", "投柜或驿站", S.available_for_pickup),
    ("6", "退回", S.returning),
    ("7", "转投", S.in_transit),
    ("8", "清关", S.customs_hold),
    ("10", "待清关", S.customs_hold),
    ("11", "清关中", S.customs_hold),
    ("12", "已清关", S.in_transit),
    ("13", "清关异常", S.customs_hold),
    ("14", "拒签", S.refused),
)
STATUS_TABLE = StatusTable(SOURCE, {code: status for code, _, status in STATES})
CODE_BY_NAME: Mapping[str, str] = {name: code for code, name, _ in STATES}


def read_form(body: bytes) -> dict[str, str]:
    """The fields of a form-encoded push body (first value of each), decoded as UTF-8."""
    text = body.decode("utf-8", errors="replace")
    return {key: values[0] for key, values in parse_qs(text, keep_blank_values=True).items()}


def parse_push(param: bytes | str | Mapping[str, Any]) -> ParseResult:
    """The events of one push's ``param`` JSON, and the problems found in it."""
    try:
        push = get_object(load_json(param, field="param"), "param")
        result = get_object(push.get("lastResult"), "param.lastResult")
        number = require_text(result, "nu", "param.lastResult")
        carrier = _carrier_code(push, result)
        state = get_text(result, "state", "param.lastResult")
        history = get_list(result.get("data"), "param.lastResult.data")
    except PayloadProblem as error:
        return [], [str(error)]
    events: list[RecordTrackingEvent] = []
    problems: list[str] = []
    for position, raw in enumerate(history):
        path = f"param.lastResult.data[{position}]"
        try:
            item = get_object(raw, path)
            # The history is newest first: the waybill's state describes item 0 only.
            events.append(_item_event(item, path, carrier=carrier, number=number,
                                      fallback_code=state if position == 0 else None))
        except PayloadProblem as error:
            problems.append(str(error))
    return events, problems


def _carrier_code(push: Mapping[str, Any], result: Mapping[str, Any]) -> str:
    # After a carrier-code correction (autoCheck=1) lastResult.com is Kuaidi100's corrected code,
    # while the shipment was registered under the original one, which comOld keeps.
    if get_text(push, "autoCheck", "param") == "1":
        original = get_text(push, "comOld", "param")
        if original:
            return original
    return require_text(result, "com", "param.lastResult")


def _item_event(
    item: Mapping[str, Any], path: str, *, carrier: str, number: str, fallback_code: str | None
) -> RecordTrackingEvent:
    context = get_text(item, "context", path)
    name = get_text(item, "status", path)
    status_code = get_text(item, "statusCode", path)
    named_code = CODE_BY_NAME.get(name) if name else None
    # An unknown name is passed last so that, when nothing matches, the log line shows it.
    codes = (status_code, named_code, fallback_code, name)
    moment_text = get_text(item, "ftime", path) or get_text(item, "time", path)
    if moment_text is None:
        raise PayloadProblem(problem(f"{path}.ftime", "is required (neither ftime nor time given)"))
    return RecordTrackingEvent(
        carrier_code=carrier,
        tracking_number=number,
        status=STATUS_TABLE.resolve(codes, text=context),
        occurred_at=parse_local_datetime(moment_text, f"{path}.ftime", zone=CHINA_TIME),
        raw_code=clip_code(status_code or named_code or fallback_code or name),
        raw_text=context,
        location=get_text(item, "location", path) or get_text(item, "areaName", path),
        source=SOURCE,
    )
