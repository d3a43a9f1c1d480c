"""The client report as one self-contained HTML file.

Styles and charts (SVG) are inline, there are no fonts, images or scripts from
elsewhere: the file opens offline and can be mailed. Both languages are in the
file; a few lines of script switch between them (buttons or `#en` / `#ru` in the
address) by setting `data-lang` on <html>, and the style hides the other
language. Without script the default language shows. Every value from the data
is escaped.
"""

from __future__ import annotations

import json
from html import escape
from typing import Any, Iterable

from crmtool.report import texts as tx
from crmtool.report.charts import Bar, Column, columns, hbars
from crmtool.report.texts import LANGS, L

ENTITY_CLASSES = {"person": "k-person", "person_at_company": "k-both", "company": "k-company", "unknown": "k-unknown"}
OUTCOME_CLASSES = {"as_is": "o-ok", "tidied": "o-tidied", "fixed": "o-fixed", "suggested": "o-suggested",
                   "invalid": "o-invalid"}

_CSS = """
:root{--ink:#1f2933;--muted:#616e7c;--line:#e4e7eb;--card:#fff;--bg:#f5f7fa;--accent:#1565c0}
*{box-sizing:border-box}
html[data-lang="ru"] [lang="en"],html[data-lang="en"] [lang="ru"]{display:none}
body{margin:0;background:var(--bg);color:var(--ink);
 font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif}
main{max-width:1000px;margin:0 auto;padding:24px 16px 48px}
header{display:flex;flex-wrap:wrap;align-items:baseline;justify-content:space-between;gap:8px}
h1{font-size:26px;margin:0}
h2{font-size:20px;margin:0 0 6px}
h3{font-size:16px;margin:18px 0 6px}
p{margin:4px 0 10px}
.muted,.note{color:var(--muted)}
.note{font-size:14px}
.switch button{font:inherit;border:1px solid var(--accent);background:#fff;color:var(--accent);padding:3px 12px;
 cursor:pointer}
.switch button:first-child{border-radius:4px 0 0 4px}
.switch button:last-child{border-radius:0 4px 4px 0;border-left:0}
.switch button[aria-pressed="true"]{background:var(--accent);color:#fff}
section{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:18px 20px;margin:16px 0}
.notice{background:#fff8e1;border:1px solid #ffe082;border-radius:8px;padding:10px 14px;margin:12px 0}
.tiles{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:12px;background:none;border:0;
 padding:0}
.tile{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px}
.tile b{display:block;font-size:24px;color:var(--accent)}
.tile span{font-size:13px;color:var(--muted)}
.chart{display:block;max-width:100%;height:auto;margin:6px 0}
.chart text{font-size:12px;fill:var(--ink)}
.chart .value{fill:var(--muted)}
.chart .axis{stroke:#9aa5b1}
.legend{display:flex;flex-wrap:wrap;gap:4px 16px;font-size:13px;color:var(--muted);margin:4px 0}
.legend i{display:inline-block;width:11px;height:11px;border-radius:2px;margin-right:5px;vertical-align:-1px}
table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{font-weight:600;color:var(--muted)}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.heat{text-align:center;font-variant-numeric:tabular-nums;white-space:nowrap}
tr.total td{font-weight:600}
.grid2{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:16px}
.example{border-top:1px solid var(--line);padding-top:8px;margin-top:14px}
.example code,.masked{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:12.5px}
.chips{display:flex;flex-wrap:wrap;gap:4px 6px;margin:2px 0 6px}
.chip{border-radius:10px;padding:0 8px;font-size:12.5px;background:#e3f2fd;color:#0d47a1}
.chip.bad{background:#ffebee;color:#b71c1c}
footer{color:var(--muted);font-size:13px;margin-top:24px}
.c0{fill:#1e88e5}.c1{fill:#7e57c2}
.k-person{fill:#1e88e5;background:#1e88e5}.k-both{fill:#7e57c2;background:#7e57c2}
.k-company{fill:#26a69a;background:#26a69a}.k-unknown{fill:#b0bec5;background:#b0bec5}
.o-ok{fill:#2e7d32;background:#2e7d32}.o-tidied{fill:#81c784;background:#81c784}
.o-fixed{fill:#1e88e5;background:#1e88e5}.o-suggested{fill:#f9a825;background:#f9a825}
.o-invalid{fill:#e53935;background:#e53935}
@media print{.switch{display:none}section{break-inside:avoid}}
"""

# The language switch: buttons and the address's #ru / #en. Nothing else runs.
_SCRIPT = """(function(){var d=document.documentElement,T=%s;
function set(l){if(!T[l])return;d.setAttribute("data-lang",l);d.setAttribute("lang",l);document.title=T[l];
var b=document.querySelectorAll("[data-set-lang]");for(var i=0;i<b.length;i++){
b[i].setAttribute("aria-pressed",b[i].getAttribute("data-set-lang")===l?"true":"false");}}
function fromHash(){set(location.hash.replace("#",""));}
document.addEventListener("click",function(e){var t=e.target;while(t&&t.getAttribute&&!t.getAttribute("data-set-lang"))
t=t.parentNode;if(t&&t.getAttribute){set(t.getAttribute("data-set-lang"));}});
window.addEventListener("hashchange",fromHash);fromHash();})();"""


# -- small helpers -----------------------------------------------------------------------------------

def esc(value: Any) -> str:
    return escape("" if value is None else str(value))


def t(value: str | L | None) -> str:
    """Text in both languages (a span each), or one escaped string when it is the same in both."""
    if isinstance(value, L):
        if value.ru == value.en:
            return escape(value.ru)
        return "".join(f'<span lang="{lang}">{escape(getattr(value, lang))}</span>' for lang in LANGS)
    return esc(value)


def num(n: int | float | None) -> str:
    """1 234 567: a narrow no-break space groups digits in both languages."""
    if n is None:
        return "—"
    return f"{int(n):,}".replace(",", "\u202f")


def pct(value: float | None) -> L:
    if value is None:
        return L("—", "—")
    shown = f"{value:.0f}" if float(value).is_integer() else f"{value:.1f}"
    return L(shown.replace(".", ",") + "\u00a0%", shown + "%")


def share(n: int, d: int) -> L:
    return pct(round(100.0 * n / d, 1) if d else None)


def _legend(items: Iterable[tuple[str, L]]) -> str:
    spans = "".join(f'<span><i class="{k}"></i>{t(label)}</span>' for k, label in items)
    return f'<div class="legend">{spans}</div>'


def _section(sid: str, title: L, note: L | None, body: str) -> str:
    note_html = f'<p class="note">{t(note)}</p>' if note else ""
    return f'<section id="{sid}"><h2>{t(title)}</h2>{note_html}{body}</section>'


def _source_label(s: dict) -> str | L:
    return tx.OTHER_SOURCES.format(n=s["others"]) if s.get("label") is None and s.get("others") else (s["label"] or "?")


# -- sections ----------------------------------------------------------------------------------------

def _notices(data: dict) -> str:
    st = data["stages"]
    notes = []
    if not data["totals"]["records"]:
        notes.append(tx.NO_RECORDS)
    elif not st["normalized"]:
        notes.append(tx.NOT_NORMALIZED)
    elif not st["matched"]:
        notes.append(tx.NOT_MATCHED)
    elif not st["merged"]:
        notes.append(tx.NOT_MERGED)
    if st["stale"]:
        notes.append(tx.STALE)
    return "".join(f'<div class="notice" role="note">{t(n)}</div>' for n in notes)


def _tiles(data: dict) -> str:
    tot = data["totals"]
    tiles = [("records", tx.TILE_RECORDS), ("sources", tx.TILE_SOURCES), ("contacts", tx.TILE_CONTACTS),
             ("companies", tx.TILE_COMPANIES), ("merged_records", tx.TILE_MERGED), ("review_pending", tx.TILE_REVIEW)]
    cells = "".join(f'<div class="tile" data-total="{key}"><b>{num(tot[key])}</b><span>{t(label)}</span></div>'
                    for key, label in tiles if tot[key] is not None)
    return f'<section class="tiles" id="summary">{cells}</section>'


def _sources(data: dict) -> str:
    rows = data["sources"]
    if not rows:
        return _section("sources", tx.SEC_SOURCES, None, f"<p>{t(tx.EMPTY)}</p>")
    order = list(ENTITY_CLASSES)
    bars = [Bar(_source_label(s), [(s["kinds"].get(k, 0), ENTITY_CLASSES[k]) for k in order]
                + [(n, "k-unknown") for k, n in s["kinds"].items() if k not in ENTITY_CLASSES],
                num(s["records"])) for s in rows]
    present = {k for s in rows for k in s["kinds"]}
    legend = _legend((ENTITY_CLASSES[k], tx.ENTITY[k]) for k in order if k in present)
    return _section("sources", tx.SEC_SOURCES, tx.SEC_SOURCES_NOTE, legend + hbars(bars))


def _heat(value: float | None) -> str:
    if value is None:
        return '<td class="heat">—</td>'
    hue = round(1.2 * value)  # 0 % red … 100 % green
    return f'<td class="heat" style="background:hsl({hue},65%,88%)">{t(pct(value))}</td>'


def _quality(data: dict) -> str:
    q = data["quality"]
    if not q:
        return ""
    fields = q["fields"]
    head = f"<tr><th>{t(tx.SOURCE)}</th>" + "".join(f"<th>{t(tx.FIELD.get(f, L(f, f)))}</th>" for f in fields) + "</tr>"

    def table(key: str) -> str:
        body = []
        for s in [*q["sources"], q["total"]]:
            label = t(tx.ALL_SOURCES) if s["source_id"] is None else esc(s["label"])
            cls = ' class="total"' if s["source_id"] is None else ""
            body.append(f"<tr{cls}><td>{label}</td>" + "".join(_heat(s["fields"][f][key]) for f in fields) + "</tr>")
        return f"<table>{head}{''.join(body)}</table>"

    reach = [Bar(_quality_label(s), [(s["no_channel"], "o-invalid")], _count_share(s["no_channel"], s["records"]))
             for s in [*q["sources"], q["total"]]]
    problems = ""
    if q["problems"]:
        rows = "".join(
            f"<tr><td>{t(tx.FIELD.get(p['field'], L(p['field'], p['field'])))}</td>"
            f"<td>{t(tx.code_text(tx.STATUS, p['status']))}</td><td>{t(tx.code_text(tx.REASON, p['reason']))}</td>"
            f'<td class="n">{num(p["count"])}</td></tr>' for p in q["problems"])
        problems = f"<h3>{t(tx.TOP_PROBLEMS)}</h3><table>{rows}</table>"
    body = (f"<h3>{t(tx.FILLED)}</h3>{table('filled_pct')}<h3>{t(tx.VALID)}</h3>{table('valid_pct')}"
            f"<h3>{t(tx.NO_CHANNEL)}</h3><p class=\"note\">{t(tx.NO_CHANNEL_NOTE)}</p>"
            f"{hbars(reach, scale=max(s['records'] for s in [*q['sources'], q['total']]) or 1)}{problems}")
    return _section("quality", tx.SEC_QUALITY, tx.SEC_QUALITY_NOTE, body)


def _quality_label(s: dict) -> str | L:
    """A quality row's label: the file, or "all files" for the total."""
    return tx.ALL_SOURCES if s["source_id"] is None else (s["label"] or "?")


def _count_share(n: int, d: int) -> L:
    """`12 · 3,4 %` / `12 · 3.4%`."""
    p = share(n, d)
    return L(f"{num(n)} · {p.ru}", f"{num(n)} · {p.en}")


def _channels(data: dict) -> str:
    ch = data["channels"]
    if not ch:
        return ""
    order = list(OUTCOME_CLASSES)
    bars, tables = [], []
    for field in ("phone", "email"):
        c = ch[field]
        bars.append(Bar(tx.FIELD[field], [(c["outcomes"][o], OUTCOME_CLASSES[o]) for o in order], num(c["values"])))
        rows = "".join(
            f"<tr><td><i class=\"{OUTCOME_CLASSES[o]}\" style=\"display:inline-block;width:10px;height:10px\"></i> "
            f"{t(tx.OUTCOME[o])}</td><td class=\"n\">{num(c['outcomes'][o])}</td>"
            f"<td class=\"n\">{t(share(c['outcomes'][o], c['values']))}</td></tr>" for o in order)
        reasons = "".join(
            f"<tr><td>{t(tx.OUTCOME[r['outcome']])}: {t(tx.code_text(tx.REASON, r['reason']))}</td>"
            f"<td class=\"n\">{num(r['n'])}</td><td></td></tr>" for r in c["reasons"])
        tables.append(f"<div><h3>{t(tx.FIELD[field])}</h3><table>{rows}{reasons}</table></div>")
    legend = _legend((OUTCOME_CLASSES[o], tx.OUTCOME[o]) for o in order)
    body = legend + hbars(bars, scale=max(ch["phone"]["values"], ch["email"]["values"]) or 1) \
        + f'<div class="grid2">{"".join(tables)}</div>'
    return _section("channels", tx.SEC_CHANNELS, tx.SEC_CHANNELS_NOTE, body)


def _size_label(b: dict) -> str:
    if b["high"] is None:
        return f"{b['low']}+"
    return str(b["low"]) if b["low"] == b["high"] else f"{b['low']}–{b['high']}"


def _duplicates(data: dict) -> str:
    d = data["duplicates"]
    if not d:
        return ""
    charts = []
    for entity, title, klass in (("contact", tx.CONTACT_SIZES, "c0"), ("company", tx.COMPANY_SIZES, "c1")):
        buckets = d["sizes"][entity]
        if not any(b["clusters"] for b in buckets):
            continue
        cols = [Column(_size_label(b), b["clusters"], num(b["clusters"]), klass) for b in buckets]
        charts.append(f"<h3>{t(title)}</h3>{columns(cols)}")
    pairs = ""
    if d["source_pairs"]:
        bars = [Bar(L(f"{p['a']} ({tx.SAME_FILE.ru})", f"{p['a']} ({tx.SAME_FILE.en})") if p["same"]
                    else f"{p['a']} + {p['b']}", [(p["clusters"], "c0")], num(p["clusters"]))
                for p in d["source_pairs"]]
        others = tx.OTHER_PAIRS.format(pairs=num(d["other_pairs"]), n=num(d["other_pair_clusters"]))
        rest = f'<p class="note">{t(others)}</p>' if d["other_pairs"] else ""
        pairs = (f"<h3>{t(tx.SOURCE_PAIRS)}</h3><p class=\"note\">{t(tx.SOURCE_PAIRS_NOTE)}</p>{hbars(bars)}{rest}")
    return _section("duplicates", tx.SEC_DUPES, tx.SEC_DUPES_NOTE, "".join(charts) + pairs)


def _review(data: dict) -> str:
    r = data["review"]
    if not r:
        return ""
    stats = (f'<div class="tiles"><div class="tile"><b>{num(r["pending"])}</b><span>{t(tx.REVIEW_PENDING)}</span></div>'
             f'<div class="tile"><b>{num(r["same"])}</b><span>{t(tx.REVIEW_SAME)}</span></div>'
             f'<div class="tile"><b>{num(r["different"])}</b><span>{t(tx.REVIEW_DIFFERENT)}</span></div></div>')
    if not r["pending"]:
        return _section("review", tx.SEC_REVIEW, tx.SEC_REVIEW_NOTE, stats + f"<p>{t(tx.REVIEW_NONE)}</p>")
    cols = [Column(f"{round(b['low'] * 100)}–{round(b['high'] * 100)}%", b["n"], num(b["n"]), "o-suggested")
            for b in r["bands"]]
    return _section("review", tx.SEC_REVIEW, tx.SEC_REVIEW_NOTE,
                    stats + f"<h3>{t(tx.PROBABILITY)}</h3>" + columns(cols, height=180))


def _shared(data: dict) -> str:
    sh = data["shared"]
    if sh.get("phone") is None:
        return ""
    parts = []
    for kind, title in (("phone", tx.SHARED_PHONES), ("email", tx.SHARED_EMAILS)):
        s = sh[kind]
        head = f"<h3>{t(title)}</h3><p class=\"note\">{t(tx.SHARED_TOTAL.format(n=num(s['shared'])))}</p>"
        if not s["top"]:
            parts.append(f"<div>{head}<p>{t(tx.NONE_SHARED)}</p></div>")
            continue
        rows = "".join(f'<tr><td class="masked">{esc(v["value"])}</td><td class="n">{num(v["contacts"])}</td>'
                       f'<td class="n">{num(v["records"])}</td></tr>' for v in s["top"])
        parts.append(f'<div>{head}<table><tr><th></th><th class="n">{t(tx.PEOPLE)}</th>'
                     f'<th class="n">{t(tx.RECORDS)}</th></tr>{rows}</table></div>')
    return _section("shared", tx.SEC_SHARED, tx.SEC_SHARED_NOTE, f'<div class="grid2">{"".join(parts)}</div>')


def _evidence(levels: dict[str, str]) -> str:
    chips = []
    for comparison, level in levels.items():
        bad = level in ("different", "different_mobiles", "conflict")
        label = tx.COMPARISON.get(comparison, L(comparison, comparison))
        words = tx.code_text(tx.LEVEL, level)
        chips.append(f'<span class="chip{" bad" if bad else ""}">'
                     f'{t(L(f"{label.ru}: {words.ru}", f"{label.en}: {words.en}"))}</span>')
    return f'<div class="chips">{"".join(chips)}</div>'


def _example(e: dict) -> str:
    title = tx.EX_CONTACT.format(id=e["golden_id"], n=e["records"], s=e["files"])
    head = (f"<tr><th>{t(tx.EX_RECORD)}</th><th>{t(tx.EX_NAME)}</th><th>{t(tx.EX_PHONES)}</th>"
            f"<th>{t(tx.EX_EMAILS)}</th><th>{t(tx.EX_COMPANY)}</th></tr>")
    rows = "".join(f'<tr><td><code>{esc(m["where"])}</code></td><td class="masked">{esc(m["name"])}</td>'
                   f'<td class="masked">{esc(m["phones"])}</td><td class="masked">{esc(m["emails"])}</td>'
                   f'<td>{esc(m["company"])}</td></tr>' for m in e["members"])
    more = f"<p class=\"note\">{t(tx.EX_MORE.format(n=e['more']))}</p>" if e["more"] else ""
    why = []
    for p in e["pairs"]:
        prob = pct(round(100 * p["probability"], 1) if p["probability"] is not None else None)
        decision = tx.code_text(tx.DECISION, p["decision"])
        why.append(f'<li><code>{esc(p["a"])}</code> ↔ <code>{esc(p["b"])}</code> — {t(prob)}, {t(decision)}'
                   f'{_evidence(p["levels"])}</li>')
    for v in e["verdicts"]:
        why.append(f'<li><code>{esc(v["a"])}</code> ↔ <code>{esc(v["b"])}</code> — '
                   f'{t(tx.VERDICT.format(v=v["verdict"]))}</li>')
    companies = f"<p>{t(tx.EX_COMPANY_LINK.format(name=', '.join(e['companies'][:3])))}</p>" if e["companies"] else ""
    why_html = f"<h3>{t(tx.EX_WHY)}</h3><ul>{''.join(why)}</ul>" if why else ""
    return (f'<div class="example"><h3>{t(title)}</h3><table>{head}{rows}</table>{more}{companies}'
            f"{why_html}</div>")


def _examples(data: dict) -> str:
    if not data["stages"]["merged"]:
        return ""
    if not data["examples"]:
        return _section("examples", tx.SEC_EXAMPLES, None, f"<p>{t(tx.EX_NONE)}</p>")
    return _section("examples", tx.SEC_EXAMPLES, tx.SEC_EXAMPLES_NOTE, "".join(_example(e) for e in data["examples"]))


# -- the page ----------------------------------------------------------------------------------------

def render(data: dict, lang: str = "ru") -> str:
    """The whole report; `lang` is the language it opens in (the other is a click away)."""
    if lang not in LANGS:
        raise ValueError(f"lang must be one of {', '.join(LANGS)}, not {lang!r}")
    titles = json.dumps({code: getattr(tx.TITLE, code) for code in LANGS}, ensure_ascii=False).replace("<", "\\u003c")
    switch = "".join(f'<button type="button" data-set-lang="{code}" aria-pressed="{str(code == lang).lower()}">'
                     f"{label}</button>" for code, label in (("ru", "Русский"), ("en", "English")))
    generated = tx.GENERATED.format(when=data["generated"], db=data["workspace"])
    body = "".join([
        _notices(data), _tiles(data), _sources(data), _quality(data), _channels(data), _duplicates(data),
        _review(data), _shared(data), _examples(data),
    ])
    return (
        f'<!DOCTYPE html>\n<html lang="{lang}" data-lang="{lang}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(getattr(tx.TITLE, lang))}</title><style>{_CSS}</style></head><body><main>"
        f'<header><h1>{t(tx.TITLE)}</h1><div class="switch" role="group">{switch}</div></header>'
        f'<p class="muted">{t(generated)} {t(tx.HOW_TO_READ)}</p>'
        f"{body}<footer>{t(tx.FOOTER)}</footer></main><script>{_SCRIPT % titles}</script></body></html>\n"
    )
