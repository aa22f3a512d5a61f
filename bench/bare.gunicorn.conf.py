"""The gateway's gunicorn configuration minus its hooks, which only make sense for the gateway app."""

from pathlib import Path as _Path

exec(
    compile(
        (_Path(__file__).parents[1] / "gateway" / "gunicorn.conf.py").read_text(), "gunicorn.conf.py", "exec"
    )
)
del on_starting, post_worker_init, worker_exit  # noqa: F821
wsgi_app = "bench.bare_app:app"
