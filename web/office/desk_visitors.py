"""The desk's visitors inside now (``/visitors/inside``): who came in at any gate and has not left, for how long.

The rows come from kiosk.office.queries.visitors_inside (the gates' own rule over their synced events); a long stay
(over the gates' ``visitors_inside.long_stay_h``, 12 h by default, or since before midnight) is marked. Read-only:
the exit is recorded at the gate, by the volunteer or the visitor's pass.
"""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app, request
from flask_babel import lazy_gettext as _l

from web.office.desk_auth import desk_login_required

blueprint = Blueprint("desk_visitors", __name__, template_folder="templates")
NAV = [("desk_visitors.page", _l("Visitors inside"), "viewer")]


def _tz() -> str:
    return current_app.config.get("TIMEZONE", "Asia/Shanghai")


@blueprint.get("/visitors/inside")
@desk_login_required("viewer")
def page():
    """Every visitor inside now across the gates (``?gate=ID`` for one gate), longest inside first."""
    from kiosk.gate.visitors_inside import parse_ts
    from kiosk.office.queries.common import gates_by_id
    from kiosk.office.queries.visitors_inside import inside_now
    from web.office.desk import render_page

    store, master = current_app.config["STORE"], current_app.config["REGISTRY"]
    gates = gates_by_id(store)
    gate = request.args.get("gate", "").strip()[:64]
    chosen = gate if gate in gates else None
    zone = ZoneInfo(_tz())
    rows = [{**r, "since_local": parse_ts(r["since"]).astimezone(zone).strftime("%m-%d %H:%M")}
            for r in inside_now(store, master, datetime.now(UTC), _tz(), gate_id=chosen)]
    return render_page("desk_visitors.html", "visitors_inside", _l("Visitors inside"), rows=rows,
                       gates=list(gates.values()), gate=chosen or "", long_count=sum(1 for r in rows if r["long"]))
