"""The wheel's build hook (hatch-jupyter-builder's ``build-function``): builds both front ends with npm.

hatch-jupyter-builder runs one build function, and nbrealtime has two npm packages: the anywidget bundles (``js/`` →
``src/nbrealtime/static``) and the JupyterLab extension (``labextension/`` → ``src/nbrealtime/labextension``). Each is
built by hatch-jupyter-builder's own ``npm_builder``, so both behave as that builder documents (``--skip-npm``,
``HATCH_JUPYTER_BUILDER_SKIP_NPM``, editable builds).
"""

from __future__ import annotations

from hatch_jupyter_builder import npm_builder


def build(target_name: str, version: str, **_: object) -> None:
    """Build the widget bundles, then the lab extension (a development build for an editable install)."""
    npm_builder(target_name, version, path="js", build_cmd="build", npm=["npm"])
    npm_builder(
        target_name,
        version,
        path="labextension",
        build_cmd="build:prod",
        editable_build_cmd="build",
        npm=["npm"],
    )
