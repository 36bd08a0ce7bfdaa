"""One trainee's page: the enrollment photo beside the best face seen in each session (with its offset and a
link into the video at that moment), the check-in events, a presence lane per session, and the findings."""

from __future__ import annotations

from urllib.parse import quote

from pipeline.outputs.report.cards import ClassView, finding_card
from pipeline.outputs.report.data import _same_file, page_name, present, video_link
from pipeline.outputs.report.grid import cell, session_presence_svg, sessions_in_order
from pipeline.outputs.report.page import clock, esc, num, page, when


def _best_faces(view: ClassView, tid: str) -> str:
    """Per offline session, the sighting nearest the enrollment (smallest distance, then largest box)."""
    w = view.words
    s = view.t.sightings
    mine = s[(s["person_id"] == tid) & (s["person_kind"] == "trainee")] if len(s) else s
    out = []
    for _, session in sessions_in_order(view).iterrows():
        if session.get("mode") == "online":
            continue
        sid = str(session["session_id"])
        rows = mine[mine["session_id"] == sid]
        if rows.empty:
            out.append(f'<figure class="unseen"><div class="no-photo">{esc(w("not_seen"))}</div>'
                       f'<figcaption><b>{esc(sid)}</b> {esc(w("not_seen"))}</figcaption></figure>')
            continue
        area = rows["box"].map(lambda b: int(b[2]) * int(b[3]) if b is not None and len(b) == 4 else 0)
        best = rows.assign(_a=area, _d=rows["distance"].fillna(9.0)).sort_values(["_d", "_a"], ascending=[True, False]).iloc[0]
        crop = view.media.crop(best["path"], best["offset_s"], best["box"], f"{tid}_{sid}")
        img = (f'<img src="{esc(crop.href)}" alt="{esc(view.who(tid))} {esc(sid)}" width="{crop.width}" '
               f'height="{crop.height}">' if crop else f'<div class="no-photo">{esc(w("no_photo"))}</div>')
        link = ""
        recs = _same_file(view.t.recordings, str(best["path"]))
        if not recs.empty:
            v = video_link(view.out_dir, recs.iloc[0].to_dict(), float(best["offset_s"]), view.info.get("folder"))
            link = f' <a class="video-link" href="{esc(v.href)}" title="{esc(v.path)}">▶ {esc(clock(v.offset_s))}</a>'
        dist = f' · d={num(best["distance"], 2)}' if present(best["distance"]) is not None else ""
        out.append(f'<figure>{img}<figcaption><b>{esc(sid)}</b> {esc(when(best["ts"], view.tz, "%m-%d %H:%M:%S"))}'
                   f'{esc(dist)}<br><span class="muted">{esc(best["path"])} @ {esc(clock(float(best["offset_s"])))}'
                   f'</span>{link}</figcaption></figure>')
    return f'<div class="faces">{"".join(out)}</div>'


def _checkins(view: ClassView, tid: str) -> str:
    w = view.words
    ck = view.t.checkins
    mine = ck[ck["trainee_id"] == tid].sort_values("ts") if len(ck) else ck
    if mine.empty:
        return f'<p class="muted">{esc(w("not_checked_in"))}</p>'
    cols = ["time", "session", "detail", "file", "row"]
    head = "".join(f"<th>{esc(w(c) if c != 'detail' else w.detail('method'))}</th>" for c in cols)
    body = "".join(
        f'<tr><td>{esc(when(r["ts"], view.tz, "%Y-%m-%d %H:%M:%S"))}</td><td>{esc(r.get("session_id"))}</td>'
        f'<td>{esc(r.get("method"))}{" ✎" if present(r.get("edited")) is True else ""} · {esc(r.get("device_id"))}</td>'
        f'<td>{esc(r.get("source_file"))}</td><td>{esc(r.get("source_row"))}</td></tr>'
        for _, r in mine.iterrows())
    return f'<table class="sortable"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _lanes(view: ClassView, tid: str) -> str:
    parts = []
    rows = {str(r["session_id"]): r for r in view.t.trainee_hours[view.t.trainee_hours["trainee_id"] == tid].to_dict("records")}
    for _, s in sessions_in_order(view).iterrows():
        sid = str(s["session_id"])
        css, text, tip = cell(view, rows.get(sid))
        if s.get("mode") == "online" or present(s.get("start")) is None or present(s.get("end")) is None:
            parts.append(f'<p><b>{esc(sid)}</b> <span class="g {css}">{esc(text)}</span> <span class="muted">{esc(tip)}</span></p>')
            continue
        title = f'{sid} · {when(s["start"], view.tz, "%Y-%m-%d %H:%M")}–{when(s["end"], view.tz, "%H:%M")}'
        parts.append(f'<h3>{esc(title)} <span class="g {css}">{esc(text)}</span> <span class="muted">{esc(tip)}</span></h3>'
                     + session_presence_svg(view, s.to_dict(), [(tid, "trainee", view.names.get(tid, tid))]))
    return "".join(parts)


def trainee_page(view: ClassView, tid: str, generated: str) -> str:
    from pipeline.outputs.report.class_page import _sorted_findings, header

    w = view.words
    photo = view.media.photo(tid)
    img = (f'<img class="photo" src="{esc(photo.href)}" alt="{esc(w("photo_of", who=view.who(tid)))}" '
           f'width="{photo.width}" height="{photo.height}" style="height:200px;width:auto">'
           if photo else f'<div class="no-photo">{esc(w("no_photo"))}</div>')
    tr = view.t.trainees[view.t.trainees["trainee_id"] == tid]
    masked = present(tr["id_number_masked"].iloc[0]) if len(tr) else None
    kind = present(tr["training_kind"].iloc[0]) if len(tr) else None
    findings = _sorted_findings(view.t.findings[view.t.findings["trainee_id"] == tid])
    cards = "".join(finding_card(view, {k: present(v) for k, v in f.items()}) for f in findings.to_dict("records"))
    class_href = quote(page_name(view.class_id, w.lang))
    body = (header(view, generated, None, f'{view.names.get(tid, tid)} ({tid})')
            + f'<p><a href="{esc(class_href)}">← {esc(w("class_page"))} {esc(view.class_id)}</a></p>'
            + f'<section class="trainee-head"><figure>{img}<figcaption>{esc(w("enrollment_photo"))}</figcaption></figure>'
            + f'<div><dl class="fields"><dt>{esc(w("name"))}</dt><dd>{esc(view.names.get(tid, ""))}</dd>'
            + f'<dt>{esc(w("trainee_id"))}</dt><dd>{esc(tid)}</dd><dt>ID</dt><dd>{esc(masked)}</dd>'
            + f'<dt>{esc(w("training_kind"))}</dt><dd>{esc(w.value(kind or ""))}</dd>'
            + f'<dt>{esc(w("findings"))}</dt><dd>{len(findings)}</dd></dl></div></section>'
            + f'<section id="faces"><h2>{esc(w("best_faces"))}</h2>{_best_faces(view, tid)}</section>'
            + f'<section id="checkins"><h2>{esc(w("checkin_events"))}</h2>{_checkins(view, tid)}</section>'
            + f'<section id="lanes"><h2>{esc(w("presence_lanes"))}</h2>{_lanes(view, tid)}</section>'
            + f'<section id="findings"><h2>{esc(w("findings"))} ({len(findings)})</h2>{cards}</section>')
    return page(f"{view.names.get(tid, tid)} {tid} · {view.class_id}", w.lang, body,
                f'{w("print_title")} · {view.class_id} · {tid}')
