"""Normalization makes equal what differs between two runs by construction, and nothing else."""

from __future__ import annotations

import json
from typing import Any

from slack_fanout.behaviour import CallTarget
from testbed.records import CHANNEL, DEPLOY, a_call, a_post, a_record
from verdict.normalize import mask, normalize


def test_a_ts_slack_returned_becomes_the_same_symbol_whether_real_or_fake() -> None:
    def update_what_was_posted(shadow: bool) -> list[dict[str, Any]]:
        posted = a_post("hello", shadow=shadow)
        assert posted.response is not None
        update = a_call("chat.update", shadow=shadow, channel=CHANNEL, ts=posted.response["ts"], text="done")
        record = a_record("shadow" if shadow else "primary", calls=[posted, update])
        return [call.arguments for call in normalize(record).calls]

    real, fake = update_what_was_posted(shadow=False), update_what_was_posted(shadow=True)

    assert real == fake
    assert real[1]["ts"] == "$chat.postMessage[0].ts"


def test_a_value_the_app_already_had_stays_itself_even_when_a_fake_answer_returns_another() -> None:
    posted = a_call("chat.postMessage", shadow=True, channel=CHANNEL, text="hi",
                    response={"ok": True, "channel": "CFAKE00001", "ts": "0000000001.000001"})  # fmt: skip
    again = a_call("chat.postMessage", shadow=True, channel=CHANNEL, text="again")

    arguments = [call.arguments for call in normalize(a_record("shadow", calls=[posted, again])).calls]

    assert arguments[1]["channel"] == CHANNEL


def test_opaque_inbound_values_become_symbols() -> None:
    modal = a_call("views.open", trigger_id=DEPLOY["trigger_id"], view={"type": "modal"})
    respond = a_call("response_url", target=CallTarget.WEBHOOK, url=DEPLOY["response_url"], text="ok")

    calls = normalize(a_record("primary", endpoint="command:/deploy", calls=[modal, respond])).calls

    assert calls[0].arguments["trigger_id"] == "$inbound.trigger_id"
    assert calls[1].arguments["url"] == "$inbound.response_url"


def test_json_held_in_strings_is_parsed_so_spacing_and_key_order_do_not_count() -> None:
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*hi*"}}]
    compact = a_call("chat.postMessage", channel=CHANNEL, blocks=json.dumps(blocks, separators=(",", ":")))
    reordered = [{"text": {"text": "*hi*", "type": "mrkdwn"}, "type": "section"}]
    spaced = a_call("chat.postMessage", channel=CHANNEL, blocks=json.dumps(reordered, indent=2))

    [left] = normalize(a_record("primary", calls=[compact])).calls
    [right] = normalize(a_record("shadow", calls=[spaced])).calls

    assert left.arguments == right.arguments
    assert left.arguments["blocks"][0]["text"]["text"] == "*hi*"


def test_timestamps_and_uuids_are_masked() -> None:
    text = "run 3f2b8a4e-9c1d-4e7f-a2b3-c4d5e6f70819 at 2026-03-01T09:30:12.345Z, msg 1764590000.000123"

    assert mask(text) == "run <uuid> at <datetime>, msg <ts>"


def test_a_value_embedded_in_a_longer_string_is_replaced_too() -> None:
    posted = a_post("hello", shadow=False)
    assert posted.response is not None
    link = f"https://example.slack.com/archives/{CHANNEL}/p{posted.response['ts']}"
    share = a_call("chat.postMessage", channel=CHANNEL, text=f"see {link}")

    [_, shared] = normalize(a_record("primary", calls=[posted, share])).calls

    assert "$chat.postMessage[0].ts" in shared.arguments["text"]
