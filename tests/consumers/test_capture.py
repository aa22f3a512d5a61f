"""The capture, in-process, with the real slack_sdk clients against a fake Slack on loopback.

Every kind of call slack_sdk makes (sync and async Web API, pagination, response_url and
webhooks, the file upload URL) is recorded against the envelope being handled; a shadow's
never leaves the process and gets a well-formed fake answer; a primary's goes out unchanged
(to the retarget base URL here).
"""

from __future__ import annotations

import asyncio
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import version
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet
from slack_sdk import WebClient
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook import WebhookClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from consumers import capture
from consumers.capture import correlation, guard, hooks
from consumers.capture.guard import EscapeRefused
from slack_fanout.behaviour import CallMode, CallTarget, Escape
from tests.support.recorder import SlackRecorder

TOKEN = "xoxb-1111-2222-capturetesttoken"
RESPONSE_URL = "https://hooks.slack.com/commands/T1/1/c2VjcmV0LXBhdGg"


@pytest.fixture
def shadow() -> Iterator[capture.Capture]:
    yield from _installed(capture.CaptureConfig("test", shadow=True))


@pytest.fixture
def primary(recorder: SlackRecorder) -> Iterator[capture.Capture]:
    yield from _installed(capture.CaptureConfig("test", shadow=False, base_url=recorder.url))


def _installed(config: capture.CaptureConfig) -> Iterator[capture.Capture]:
    installed = capture.install(config)
    try:
        yield installed
    finally:
        capture.uninstall()


def handled(work, seconds: int = 1_700_000_000) -> correlation.Settled:
    """Run ``work`` as the handling of one envelope and settle it."""
    handling = correlation.open_handling("envelope-1", seconds)
    with correlation.handling_of(handling):
        work()
    return handling.settle(5)


def test_every_hook_point_is_where_the_tested_slack_sdk_has_it() -> None:
    assert hooks.check_hook_points() == []
    lines = Path("pyproject.toml").read_text().splitlines()
    pinned = next(line for line in lines if '"slack_sdk' in line)
    assert version("slack_sdk") in SpecifierSet(pinned.split('"')[1].removeprefix("slack_sdk"))


def test_a_moved_hook_point_stops_the_capture_before_anything_is_patched(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delattr(WebhookClient, "_perform_http_request")
    assert [problem.split(":")[0] for problem in hooks.check_hook_points()] == [
        "slack_sdk.webhook.client.WebhookClient._perform_http_request"
    ]
    before = WebClient._perform_urllib_http_request
    with pytest.raises(hooks.HookPointMoved, match=r"WebhookClient\._perform_http_request"):
        capture.install(capture.CaptureConfig("test", shadow=True))
    assert WebClient._perform_urllib_http_request is before


def test_a_shadows_calls_get_fake_answers_and_nothing_reaches_slack(
    shadow: capture.Capture, recorder: SlackRecorder
) -> None:
    answers: dict[str, object] = {}

    def work() -> None:
        client = WebClient(token=TOKEN, base_url=recorder.url + "/api/")  # even an app's own base URL
        posted = client.chat_postMessage(channel="C1", text="hello")
        answers["ts"], answers["channel"] = posted["ts"], posted["channel"]
        answers["bot"] = client.auth_test()["user_id"]
        answers["view"] = client.views_open(trigger_id="t", view={"type": "modal", "title": {}})["view"]["id"]
        answers["unknown"] = client.api_call("reactions.add", json={"name": "tada"}).data
        answers["webhook"] = WebhookClient(RESPONSE_URL).send(text="done").status_code

    settled = handled(work)
    assert recorder.calls == []
    assert answers == {"ts": "1700000000.000001", "channel": "C1", "bot": "U0SHADOW0", "view": "V0003SHADOW",
                       "unknown": {"ok": True}, "webhook": 200}  # fmt: skip
    assert [(c.target, c.method, c.mode) for c in settled.calls] == [
        (CallTarget.WEB_API, "chat.postMessage", CallMode.SUPPRESSED),
        (CallTarget.WEB_API, "auth.test", CallMode.SUPPRESSED),
        (CallTarget.WEB_API, "views.open", CallMode.SUPPRESSED),
        (CallTarget.WEB_API, "reactions.add", CallMode.SUPPRESSED),
        (CallTarget.WEBHOOK, "response_url", CallMode.SUPPRESSED),
    ]
    assert settled.calls[0].arguments == {"channel": "C1", "text": "hello"}


def test_the_same_request_gets_the_same_fake_answers(shadow: capture.Capture) -> None:
    def work() -> None:
        WebClient(token=TOKEN).chat_postMessage(channel="#general", text="hi")

    first, second = handled(work), handled(work)
    fake_answer = first.calls[0].response
    assert fake_answer is not None and fake_answer == second.calls[0].response
    assert fake_answer["channel"].startswith("D")  # a channel name is answered with an id


def test_a_file_upload_goes_through_three_suppressed_calls(shadow: capture.Capture) -> None:
    uploaded: dict[str, object] = {}

    def work() -> None:
        client = WebClient(token=TOKEN)
        uploaded["file"] = client.files_upload_v2(channel="C1", content="report", filename="r.txt")["file"]

    settled = handled(work)
    assert uploaded["file"] == {"id": "F0001SHADOW", "title": "r.txt"}
    assert [(c.target, c.method) for c in settled.calls] == [
        (CallTarget.WEB_API, "files.getUploadURLExternal"),
        (CallTarget.UPLOAD, "upload"),
        (CallTarget.WEB_API, "files.completeUploadExternal"),
    ]
    assert settled.calls[1].arguments["bytes"] == len("report")


def test_a_primarys_calls_go_out_unchanged_and_are_recorded_with_slacks_answers(
    primary: capture.Capture, recorder: SlackRecorder
) -> None:
    def work() -> None:
        client = WebClient(token=TOKEN)
        client.chat_postMessage(channel="C1", text="hello")
        assert [page["channels"][0]["id"] for page in client.conversations_list()] == ["C1", "C2"]
        WebhookClient(RESPONSE_URL).send(text="done")

    settled = handled(work)
    assert [call.path for call in recorder.calls] == [
        "/api/chat.postMessage", "/api/conversations.list", "/api/conversations.list",
        "/commands/T1/1/c2VjcmV0LXBhdGg",
    ]  # fmt: skip
    assert recorder.calls[0].headers["Authorization"] == f"Bearer {TOKEN}"
    assert [(c.method, c.mode, c.status) for c in settled.calls] == [
        ("chat.postMessage", CallMode.SENT, 200),
        ("conversations.list", CallMode.SENT, 200),
        ("conversations.list", CallMode.SENT, 200),
        ("response_url", CallMode.SENT, 200),
    ]
    slacks_answer = settled.calls[0].response
    assert slacks_answer is not None
    assert slacks_answer["ts"].startswith(str(int(time.time()))[:5])  # the fake Slack's clock
    assert settled.calls[2].arguments["cursor"] == "page-2"
    assert all(call.duration_ms > 0 for call in settled.calls)
    assert TOKEN not in str(settled.calls)


def test_the_async_clients_are_captured_too(shadow: capture.Capture, recorder: SlackRecorder) -> None:
    async def calls() -> tuple[str, int]:
        posted = await AsyncWebClient(token=TOKEN).chat_postMessage(channel="C1", text="async")
        answered = await AsyncWebhookClient(RESPONSE_URL).send(text="async done")
        return posted["ts"], answered.status_code

    results: list[tuple[str, int]] = []
    settled = handled(lambda: results.append(asyncio.run(calls())))
    assert results == [("1700000000.000001", 200)]
    assert [(c.target, c.method) for c in settled.calls] == [
        (CallTarget.WEB_API, "chat.postMessage"),
        (CallTarget.WEBHOOK, "response_url"),
    ]
    assert recorder.calls == []


def test_async_calls_of_a_primary_go_out(primary: capture.Capture, recorder: SlackRecorder) -> None:
    async def call() -> str:
        return (await AsyncWebClient(token=TOKEN).auth_test())["user_id"]

    results: list[str] = []
    settled = handled(lambda: results.append(asyncio.run(call())))
    assert results == ["U0BOT"]
    assert [call.path for call in recorder.calls] == ["/api/auth.test"]
    assert settled.calls[0].mode is CallMode.SENT


def test_calls_on_pool_threads_and_new_threads_belong_to_the_envelope_that_started_them(
    shadow: capture.Capture,
) -> None:
    pool = ThreadPoolExecutor(1)  # made before any request, as Bolt makes its own
    pool.submit(lambda: None).result()
    release = threading.Event()

    def later(text: str) -> None:
        release.wait(5)
        WebClient(token=TOKEN).chat_postMessage(channel="C1", text=text)

    first = correlation.open_handling("first", 1)
    second = correlation.open_handling("second", 2)
    with correlation.handling_of(first):
        pool.submit(later, "from the pool")
        threading.Thread(target=later, args=("from a thread",)).start()
    with correlation.handling_of(second):
        pool.submit(later, "second's")
    release.set()
    settled_first, settled_second = first.settle(5), second.settle(5)
    assert sorted(c.arguments["text"] for c in settled_first.calls) == ["from a thread", "from the pool"]
    assert [c.arguments["text"] for c in settled_second.calls] == ["second's"]
    assert settled_first.settled and settled_second.settled


def test_work_that_outlives_the_bound_leaves_the_record_unsettled_and_its_call_counted(
    shadow: capture.Capture,
) -> None:
    from consumers import metrics

    release = threading.Event()
    handling = correlation.open_handling("slow", 1)
    with correlation.handling_of(handling):
        thread = threading.Thread(target=lambda: (release.wait(5), WebClient(token=TOKEN).auth_test()))
        thread.start()
    settled = handling.settle(0.05)
    before = metrics.UNATTRIBUTED_CALLS.labels("test", "after_settle")._value.get()
    release.set()
    thread.join()
    assert not settled.settled and settled.calls == []
    assert metrics.UNATTRIBUTED_CALLS.labels("test", "after_settle")._value.get() == before + 1


def test_an_exception_in_started_work_is_in_the_record(shadow: capture.Capture) -> None:
    def fail() -> None:
        raise RuntimeError("listener broke")

    handling = correlation.open_handling("failing", 1)
    with correlation.handling_of(handling):
        ThreadPoolExecutor(1).submit(fail)
    assert handling.settle(5).exceptions == ["RuntimeError: listener broke"]


def test_the_guard_refuses_a_shadows_own_connection_to_slack_and_reports_it(shadow: capture.Capture) -> None:
    escapes: list[Escape] = []
    guard.install(escapes.append)
    with pytest.raises(urllib.error.URLError) as refused:
        urllib.request.urlopen("https://slack.com/api/chat.postMessage", timeout=1)
    assert isinstance(refused.value.reason, EscapeRefused)
    with pytest.raises(EscapeRefused):
        guard._GUARD("socket.connect", (None, ("files.slack.com", 443)))
    with pytest.raises(EscapeRefused):
        guard._GUARD("socket.getaddrinfo", ("hooks.slack.com.", 443, 0, 0, 0))
    assert [(e.host, e.port) for e in escapes] == [("slack.com", 443), ("files.slack.com", 443),
                                                   ("hooks.slack.com.", 443)]  # fmt: skip
    assert escapes[0].where.startswith(__file__)


def no_escape_expected(escape: Escape) -> None:
    """The guard's sink where it must refuse nothing: any escape fails the test, named."""
    pytest.fail(f"unexpected escape refused: {escape!r}")


def test_the_capture_itself_may_resolve_slack_and_other_hosts_are_never_refused(
    shadow: capture.Capture,
) -> None:
    guard.install(no_escape_expected)
    with guard.capture_sends():
        guard._GUARD("socket.getaddrinfo", ("slack.com", 443, 0, 0, 0))
    guard._GUARD("socket.getaddrinfo", ("example.com", 443, 0, 0, 0))
    guard._GUARD("socket.getaddrinfo", ("notslack.com", 443, 0, 0, 0))
    guard._GUARD("socket.connect", (None, ("127.0.0.1", 5672)))


def test_a_pass_through_method_goes_to_slack_and_nothing_else_does(recorder: SlackRecorder) -> None:
    config = capture.CaptureConfig(
        "test", shadow=True, base_url=recorder.url, pass_through=frozenset({"auth.test"})
    )
    for _ in _installed(config):

        def work() -> None:
            client = WebClient(token=TOKEN)
            assert client.auth_test()["user_id"] == "U0BOT"  # Slack's (the fake's) own answer
            client.chat_postMessage(channel="C1", text="kept back")

        settled = handled(work)
    assert [call.path for call in recorder.calls] == ["/api/auth.test"]
    assert [c.mode for c in settled.calls] == [CallMode.PASSED_THROUGH, CallMode.SUPPRESSED]


def test_without_aiohttp_the_async_clients_cannot_exist_and_the_sync_ones_are_still_captured(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import sys

    for name in [name for name in sys.modules if name.startswith(("aiohttp", "slack_sdk"))]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "aiohttp", None)  # as if it were not installed
    assert hooks.check_hook_points() == []
    assert {point.cls for point in hooks.available_hook_points()} == {"BaseClient", "WebhookClient"}


def test_the_captures_permission_follows_a_lookup_onto_asyncios_executor(shadow: capture.Capture) -> None:
    async def lookup_on_a_thread() -> bool:  # as aiohttp's resolver does: loop.getaddrinfo
        return await asyncio.get_running_loop().run_in_executor(None, guard._authorized.get)

    async def both() -> tuple[bool, bool]:
        with guard.capture_sends():
            inside = await lookup_on_a_thread()
        return inside, await lookup_on_a_thread()

    assert asyncio.run(both()) == (True, False)
