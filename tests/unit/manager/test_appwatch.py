"""The app watch around `devcontainer up`, against a fake engine."""

from __future__ import annotations

from pathlib import Path

from devagent.manager.appwatch import AppExitWatch
from devagent.project import identify
from devagent.runtime import Runtime
from devagent.runtime.engine import Engine
from tests.fakes import FakeExecutor


def _runtime(state: str, logs: str = "") -> tuple[Runtime, FakeExecutor]:
    fake = (
        FakeExecutor()
        .on(["podman", "inspect", "--format"], f"{state}\n")
        .on(["podman", "logs"], logs)
    )
    return Runtime(Engine("podman", "podman"), fake), fake


def test_an_app_that_stays_exited_cancels_up_and_is_said_with_its_code_and_output(
    tmp_path: Path,
) -> None:
    runtime, fake = _runtime("exited 127", logs="Container started\nsh: 1: srv: not found\n")
    with AppExitWatch(runtime, identify(tmp_path), interval=0.01) as watch:
        assert watch.cancel.wait(5)
    assert len(fake.called("podman", "inspect")) >= 2  # it stayed ended, then it was said
    error = watch.error()
    assert error is not None and "exited at start (exit code 127)" in error.message
    assert "srv: not found" in error.message and "ENTRYPOINT" in error.hint


def test_a_running_or_missing_app_is_left_alone(tmp_path: Path) -> None:
    for state in ("running 0", "created 0", ""):
        runtime, fake = _runtime(state)
        with AppExitWatch(runtime, identify(tmp_path), interval=0.01) as watch:
            assert not watch.cancel.wait(0.3)
        assert len(fake.called("podman", "inspect")) >= 5 and not fake.called("podman", "logs")
        assert watch.error() is None and watch.error(look=True) is None


def test_after_a_failed_up_one_look_is_enough(tmp_path: Path) -> None:
    runtime, _fake = _runtime("exited 1")
    with AppExitWatch(runtime, identify(tmp_path), interval=60) as watch:
        pass  # `devcontainer up` failed before the watch looked
    assert watch.error() is None and not watch.cancel.is_set()
    error = watch.error(look=True)
    assert error is not None and "exit code 1" in error.message
    assert "printed nothing" in error.message
