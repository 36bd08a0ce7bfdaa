"""One finding as a card: its rule in the reader's language (the code in small type), the message, where and
when, a link into the video, the pictures that prove it, and the detail as labelled fields.

Which pictures, by rule (each only when the material exists):
- a frame with a snapshot (any rule): every face the face stage found on it, boxed and named;
- ATTENDANCE_PROXY: that frame, plus the enrollment photo of the trainee who is not on it;
- UNKNOWN_PERSON: the frame with the stranger's seat boxed, plus the stranger's face crop;
- IDENTITY_SHARED: the two enrollment photos side by side;
- RECORDING_REUSED: the two matching frames side by side;
- RECORDING_BLANK: a frame before the blank stretch and one during it;
- HEADCOUNT_MISMATCH: the frame with every counted face boxed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from pipeline.outputs.report.data import ReportTables, detail_dict, locate_in_video, present, video_link
from pipeline.outputs.report.figures import Mark, Media, Picture, marked_frame, marks_at
from pipeline.outputs.report.i18n import Words
from pipeline.outputs.report.page import clock, day, esc, num, when

# Shown folded away: low severity, and the online-share check that flags most trainees of a class at once.
FOLDED_RULES = frozenset({"ONLINE_SHARE"})
# Detail keys the card already shows as pictures or facts.
_HIDDEN_KEYS = frozenset({"snapshot_file", "snapshot_offset_s", "snapshot_box", "message_fields", "sample_times",
                          "cluster_snapshot", "box", "snapshot_before", "snapshot_before_offset_s"})
BLANK_BEFORE_S = 30.0  # the "before" frame of a blank stretch: this long before it starts


def folded(f: dict) -> bool:
    return str(f.get("severity")) == "low" or str(f.get("rule_id")) in FOLDED_RULES


@dataclass
class ClassView:
    """What every card and page of one class needs."""

    class_id: str
    t: ReportTables
    info: dict
    out_dir: Path
    words: Words
    tz: str
    media: Media
    others: dict[str, Media] = field(default_factory=dict)  # other classes of the run (cross-class findings)
    pages: dict[str, str] = field(default_factory=dict)  # class_id -> page file name

    @property
    def names(self) -> dict[str, str]:
        return dict(zip(self.t.trainees["trainee_id"].astype(str), self.t.trainees["name"].astype(str)))

    def who(self, trainee_id: object) -> str:
        tid = present(trainee_id)
        if tid is None:
            return ""
        name = self.names.get(str(tid))
        return f"{name}（{tid}）" if name and self.words.lang == "zh" else f"{name} ({tid})" if name else str(tid)

    def label(self, kind: str, person_id: object) -> str:
        pid = present(person_id)
        if kind == "trainee":
            return self.names.get(str(pid), str(pid)) if pid is not None else self.words("unknown_label")
        if kind == "teacher":
            return f'{self.words("teacher_label")} {pid or ""}'.strip()
        if kind == "unidentified":
            return self.words("unidentified_label")
        return str(pid) if pid is not None else self.words("unknown_label")

    def media_of(self, class_id: object) -> Media:
        cid = present(class_id)
        return self.media if cid in (None, self.class_id) else self.others.get(str(cid), self.media)

    def message(self, f: dict) -> str:
        """The finding's message in the page's language (made again from its fields when the run wrote it
        in the other language)."""
        from pipeline.rules.findings import message

        fields = detail_dict(f.get("detail")).get("message_fields")
        text = str(present(f.get("message")) or "")
        if not isinstance(fields, dict):
            return text
        has_han = any("\u4e00" <= ch <= "\u9fff" for ch in text)
        if (self.words.lang == "en") == (not has_han) and text:
            return text
        return message(str(f["rule_id"]), self.words.lang, fields)

    def trainee_href(self, trainee_id: object) -> str:
        from urllib.parse import quote

        from pipeline.outputs.report.data import trainee_page_name

        return quote(trainee_page_name(self.class_id, str(trainee_id), self.words.lang))


def severity_badge(severity: object, words: Words) -> str:
    sev = str(present(severity) or "low")
    return f'<span class="sev sev-{esc(sev)}">{esc(words.value(sev))}</span>'


def rule_name(rule_id: object, words: Words) -> str:
    """The rule in the reader's language, its code in small type beside it."""
    return f'<b class="rule-title">{esc(words.rule(str(rule_id)))}</b> <code class="rule-code">{esc(rule_id)}</code>'


def _figure(body: str, caption: str, cls: str = "") -> str:
    return f'<figure class="{esc(cls)}">{body}<figcaption>{esc(caption)}</figcaption></figure>'


def _img(pic: Picture, alt: str, cls: str = "") -> str:
    return (f'<a href="{esc(pic.href)}"><img class="{esc(cls)}" src="{esc(pic.href)}" alt="{esc(alt)}" '
            f'width="{pic.width}" height="{pic.height}"></a>')


def _photo_figure(view: ClassView, media: Media, trainee_id: object, who: str) -> str:
    pic = media.photo(trainee_id)
    caption = view.words("photo_of", who=who)
    if pic is None:
        return _figure(f'<div class="no-photo">{esc(view.words("no_photo"))}</div>', caption, "photo")
    return _figure(_img(pic, caption, "photo"), caption, "photo")


def _frame_caption(view: ClassView, path: object, offset_s: object) -> str:
    name = Path(str(path)).name if present(path) else ""
    return view.words("frame_of", file=name, t=clock(float(offset_s))) if isinstance(offset_s, (int, float)) else name


def _snapshot(view: ClassView, f: dict, detail: dict) -> tuple[Picture | None, object, object]:
    """The finding's frame: the snapshot the audit wrote, else the frame its detail names."""
    snap_file, snap_off = detail.get("snapshot_file"), detail.get("snapshot_offset_s")
    pic = view.media.existing(f.get("evidence_path"))
    if pic is None and present(snap_file):
        pic = view.media.frame(snap_file, snap_off)
    return pic, snap_file, snap_off


def figures(view: ClassView, f: dict) -> list[str]:
    """The pictures that prove the finding, each a <figure> with its caption."""
    w, rule = view.words, str(f["rule_id"])
    detail = detail_dict(f.get("detail"))
    out = []
    if rule == "IDENTITY_SHARED":
        other_class = detail.get("other_class_id")
        other_who = detail.get("other_trainee_id")
        out.append(_photo_figure(view, view.media, f.get("trainee_id"), view.who(f.get("trainee_id"))))
        other_label = str(other_who) if present(other_class) in (None, view.class_id) else f"{other_class}/{other_who}"
        if present(other_class) in (None, view.class_id):
            other_label = view.who(other_who)
        out.append(_photo_figure(view, view.media_of(other_class), other_who, other_label))
        return out
    if rule == "RECORDING_REUSED":
        for media, path, off in ((view.media, detail.get("file") or f.get("path"), detail.get("offset_s")),
                                 (view.media_of(detail.get("other_class_id")), detail.get("other_file"),
                                  detail.get("other_offset_s"))):
            pic = media.frame(path, off)
            if pic is not None:
                cap = _frame_caption(view, path, off)
                if media is not view.media:
                    cap = f"{media.class_id} · {cap}"
                out.append(_figure(_img(pic, cap, "frame"), cap, "frame"))
        return out
    pic, snap_file, snap_off = _snapshot(view, f, detail)
    if rule == "RECORDING_BLANK":
        path = snap_file or f.get("path")
        before = view.media.existing(detail.get("snapshot_before"))  # the rule's own, when it wrote one
        before_off = detail.get("snapshot_before_offset_s")
        if before is None:
            start = _blank_start(detail, snap_off)
            if isinstance(start, (int, float)) and start >= 1.0:
                before_off = start - min(BLANK_BEFORE_S, start / 2)
                before = view.media.frame(path, before_off)
        if before is not None:
            cap = f'{w("before_blank")} · {_frame_caption(view, path, before_off)}'
            out.append(_figure(_img(before, cap, "frame"), cap, "frame"))
        if pic is not None:
            cap = f'{w("during_blank")} · {_frame_caption(view, path, snap_off)}'
            out.append(_figure(_img(pic, cap, "frame"), cap, "frame"))
        return out
    if pic is not None:
        marks = marks_at(view.t.sightings, snap_file, snap_off, view.label)
        extra = None
        box = detail.get("snapshot_box")
        if rule == "UNKNOWN_PERSON" and isinstance(box, list) and len(box) == 4:
            extra = Mark(tuple(int(v) for v in box), w("stranger"), "highlight")
        cap = _frame_caption(view, snap_file, snap_off)
        if rule == "HEADCOUNT_MISMATCH":
            counted = [m for m in marks if m.kind != "teacher"]
            cap = f'{w("headcount_frame", n=str(len(counted)))} · {cap}'
        elif marks:
            cap = f'{w("faces_named", n=str(len(marks)))} · {cap}'
        if rule == "ATTENDANCE_PROXY":
            cap = f'{cap} · {w("absent_from_frame", who=view.who(f.get("trainee_id")))}'
        body = marked_frame(pic, marks, cap, extra) if (marks or extra) else _img(pic, cap, "frame")
        out.append(_figure(f'<a href="{esc(pic.href)}">{body}</a>' if (marks or extra) else body, cap, "frame wide"))
    if rule == "ATTENDANCE_PROXY":
        out.append(_photo_figure(view, view.media, f.get("trainee_id"), view.who(f.get("trainee_id"))))
    if rule == "UNKNOWN_PERSON":
        crop = view.media.existing(detail.get("cluster_snapshot"))
        if crop is not None:
            out.append(_figure(_img(crop, w("stranger_crop"), "photo"), w("stranger_crop"), "photo"))
    return out


def _blank_start(detail: dict, snap_off: object) -> float | None:
    """Where the blank stretch shown on the snapshot starts (seconds into the file)."""
    starts = [(x.get("start_offset_s"), x.get("end_offset_s")) for x in detail.get("stretches") or []
              if isinstance(x, dict) and isinstance(x.get("start_offset_s"), (int, float))]
    for a, b in starts:
        if isinstance(snap_off, (int, float)) and isinstance(b, (int, float)) and a <= snap_off <= b:
            return float(a)
    if starts:
        return float(starts[0][0])
    return detail.get("start_offset_s") if isinstance(detail.get("start_offset_s"), (int, float)) else None


def _value(view: ClassView, key: str, value: object) -> str:
    """One detail value as readable HTML: lists of records as a small table, times in the class's zone."""
    w = view.words
    if isinstance(value, bool):
        return esc(w("yes") if value else w("no"))
    if isinstance(value, float):
        return esc(num(value, 2))
    if isinstance(value, str) and len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
        try:
            return esc(when(pd.Timestamp(value), view.tz, "%Y-%m-%d %H:%M:%S"))
        except ValueError:
            return esc(value)
    if isinstance(value, dict):
        return _fields(view, value)
    if isinstance(value, list):
        if value and all(isinstance(v, dict) for v in value):
            keys = [k for k in dict.fromkeys(k for v in value for k in v) if k not in _HIDDEN_KEYS]
            head = "".join(f"<th>{esc(w.detail(k))}</th>" for k in keys)
            rows = "".join("<tr>" + "".join(f"<td>{_value(view, k, v.get(k))}</td>" for k in keys) + "</tr>"
                           for v in value[:50])
            more = f'<p class="muted">… {len(value) - 50}</p>' if len(value) > 50 else ""
            return f'<table class="sub"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>{more}'
        if value and all(isinstance(v, list) and len(v) == 2 for v in value):  # [[start, end], ...]
            return "; ".join(f"{_value(view, key, a)} – {_value(view, key, b)}" for a, b in value)
        return esc(", ".join(view.who(v) if key.endswith("trainees") else str(v) for v in value))
    if key in ("trainee_id", "other_trainee_id"):
        return esc(view.who(value))
    if key in ("kind", "mode", "part", "trainee_kind", "class_kind"):
        return esc(w.value(value))
    return esc(value)


def _fields(view: ClassView, detail: dict) -> str:
    rows = [(k, v) for k, v in detail.items() if k not in _HIDDEN_KEYS and present(v) not in (None, "", [])]
    if not rows:
        return ""
    return '<dl class="fields">' + "".join(
        f"<dt>{esc(view.words.detail(k))}</dt><dd>{_value(view, k, v)}</dd>" for k, v in rows) + "</dl>"


def search_text(view: ClassView, f: dict) -> str:
    parts = [f.get("rule_id"), view.words.rule(str(f["rule_id"])), f.get("trainee_id"),
             view.names.get(str(f.get("trainee_id")), ""), f.get("session_id"), f.get("message"),
             view.info.get("institution_name"), view.info.get("institution_id"), view.class_id]
    return " ".join(str(p) for p in parts if present(p)).lower()


def finding_card(view: ClassView, f: dict) -> str:
    w = view.words
    facts = [("trainee", view.who(f.get("trainee_id"))), ("session", f.get("session_id")), ("date", day(f.get("date"))),
             ("camera", f.get("camera_id")),
             ("time", " – ".join(x for x in (when(f.get("start"), view.tz, "%Y-%m-%d %H:%M:%S"),
                                             when(f.get("end"), view.tz, "%H:%M:%S")) if x)),
             ("measured", num(f.get("measured"), 2)), ("threshold", num(f.get("threshold"), 2)),
             ("file", f.get("path"))]
    spans = " ".join(f'<span{" class=long" if k == "file" else ""}>{esc(w(k))}: <b>{esc(v)}</b></span>'
                     for k, v in facts if present(v) not in (None, ""))
    video = ""
    located = locate_in_video(view.t, f)
    if located:
        link = video_link(view.out_dir, located[0], located[1], view.info.get("folder"))
        label = w("open_video_at", t=clock(link.offset_s))
        video = (f'<p><a class="video-link" href="{esc(link.href)}" title="{esc(link.path)}">▶ {esc(label)}</a> '
                 f'<span class="muted">{esc(link.path)}</span></p>')
    detail = detail_dict(f.get("detail"))
    other = detail.get("other_class_id")
    cross = ""
    if present(other) not in (None, view.class_id) and str(other) in view.pages:
        from urllib.parse import quote

        cross = (f'<p>{esc(w("other_class"))}: <a class="cross-class" href="{esc(quote(view.pages[str(other)]))}">'
                 f'{esc(other)}</a></p>')
    fields = _fields(view, detail)
    detail_html = f'<details class="detail"><summary>{esc(w("detail"))}</summary>{fields}</details>' if fields else ""
    pics = figures(view, f)
    pics_html = f'<div class="figures">{"".join(pics)}</div>' if pics else ""
    sev = str(present(f.get("severity")) or "low")
    return (f'<article class="finding {esc(sev)}" id="f-{esc(f["finding_id"])}" data-rule="{esc(f["rule_id"])}" '
            f'data-severity="{esc(sev)}" data-text="{esc(search_text(view, f))}">'
            f'<header>{severity_badge(sev, w)} {rule_name(f["rule_id"], w)}</header>'
            f'<p class="message">{esc(view.message(f))}</p><p class="facts">{spans}</p>{video}{cross}{pics_html}'
            f'{detail_html}<p class="muted">{esc(w("finding_id"))}: {esc(f["finding_id"])}</p></article>')
