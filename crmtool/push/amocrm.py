"""The amoCRM (API v4) push target: companies, then contacts linked to them.

amoCRM takes arrays of entities (at most 250 a request; 50 here, as its docs advise), echoes
each entity's `request_id` (our golden id) with the new id, and rejects a request whose
entities fail validation with `validation-errors` naming them; the valid ones are sent again
on their own. It has no field for an external id, so a card we create carries the tag
`crmtool` and its golden id in `request_id` only: an interrupted create is reconciled by
searching the portal for the record's phone, e-mail or name and taking the tagged card with
our name. Duplicates on the portal are found from one download of its cards (250 a page),
indexed by phone and e-mail: a search per value would cost a request per record.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import httpx
import polars as pl

from crmtool.errors import CrmError
from crmtool.export.bitrix24 import (
    COMPANY_SCHEMA, CONTACT_SCHEMA, NO_NAME, _blank_to_null, company_titles, complete, main_companies,
)
from crmtool.export.data import ExportData
from crmtool.export.users import resolve
from crmtool.push.bitrix24 import names_agree
from crmtool.push.channels import channel_key, not_on_card, typed_channels
from crmtool.push.ledger import payload_hash
from crmtool.push.records import Outcome, PushRecord
from crmtool.push.throttle import LeakyBucket
from crmtool.push.transport import RetryPolicy, Transport, Verdict

BATCH = 50
PAGE = 250
TAG = "crmtool"
PHONE_ENUMS = {"WORK": "WORK", "MOBILE": "MOB", "FAX": "FAX", "HOME": "HOME", "OTHER": "OTHER"}
EMAIL_ENUMS = {"WORK": "WORK", "HOME": "PRIV", "OTHER": "OTHER"}
PLURAL = {"contact": "contacts", "company": "companies"}


def classify(response: httpx.Response) -> tuple[Verdict, str]:
    status = response.status_code
    if status in (200, 201, 202, 204):
        return Verdict.OK, ""
    text = response.text[:200].replace("\n", " ")
    if status == 429:
        return Verdict.THROTTLED, "too many requests"
    if status == 401:
        return Verdict.AUTH, text
    if status == 403:
        blocked = "html" in response.headers.get("content-type", "").lower()
        return Verdict.AUTH, "the account is blocked for too many requests" if blocked else text
    if status >= 500:
        return Verdict.UNSURE, text
    return Verdict.ERROR, text


def open_amocrm(secret: str, portal: str | None, users, bucket: LeakyBucket, retry: RetryPolicy | None):
    if not portal:
        raise CrmError("amoCRM needs --portal https://SUBDOMAIN.amocrm.ru")
    base = portal.strip().rstrip("/")
    if not base.startswith(("http://", "https://")):
        base = "https://" + base
    transport = Transport(classify, bucket, retry, headers={"Authorization": f"Bearer {secret.strip()}"},
                          redact=lambda s: s.replace(secret.strip(), "***"))
    return AmoCRMTarget(base, transport, users)


def _custom(code: str, values: list[dict] | None, enums: dict[str, str], phone: bool) -> tuple[dict | None, list[str]]:
    channels = typed_channels(values, phone)
    items = [{"value": shown, "enum_code": enums.get(kind, "OTHER")} for shown, kind, _ in channels]
    return ({"field_code": code, "values": items} if items else None), [bare for _, _, bare in channels]


def _fields_of(card: dict) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for field in card.get("custom_fields_values") or []:
        code = field.get("field_code")
        if code:
            out.setdefault(code, []).extend(str(v.get("value", "")) for v in field.get("values") or [])
    return out


class AmoCRMTarget:
    name = "amocrm"

    def __init__(self, base: str, transport: Transport, users: dict[str, str] | None = None):
        self.base = base
        self.api = base + "/api/v4/"
        self.transport = transport
        self.users = users or {}
        self.identity = f"amocrm:{urlsplit(base).netloc}"
        self._index: dict[str, dict] = {}

    def close(self) -> None:
        self.transport.close()

    def batch_size(self, entity: str) -> int:
        return BATCH

    # -- payloads ---------------------------------------------------------------------------
    def records(self, entity: str, data: ExportData, company_ids: dict[str, str]) -> list[PushRecord]:
        if entity == "company":
            frame = complete(data.companies, COMPANY_SCHEMA)
            frame = frame.join(company_titles(frame), on="golden_id", how="left", maintain_order="left")
            frame = frame.with_columns(resolve(frame["owner"], self.users).alias("assigned"), pl.col("title").alias("NAME"))
        else:
            contacts = complete(data.contacts, CONTACT_SCHEMA)
            full = pl.concat_str([pl.col("last_name"), pl.col("first_name"), pl.col("middle_name")], separator=" ",
                                 ignore_nulls=True)
            # an amoCRM contact belongs to one company: the best-evidenced link, as in the import file
            pushed = data.companies.select("golden_id", pl.col("golden_id").alias("title")).filter(
                pl.col("golden_id").is_in(list(company_ids)))
            linked = main_companies(data, pushed).select(
                "contact_id", pl.concat_list(pl.col("company").replace_strict(company_ids, default=None)
                                             .cast(pl.Int64)).alias("company_ids"))
            frame = contacts.join(linked, left_on="golden_id", right_on="contact_id", how="left",
                                  maintain_order="left").with_columns(
                pl.when(full != "").then(full).otherwise(pl.lit(NO_NAME)).alias("NAME"),
                _blank_to_null(pl.col("first_name")).alias("first"), _blank_to_null(pl.col("last_name")).alias("last"),
                resolve(contacts["owner"], self.users).alias("assigned"))
        records = []
        for row in frame.iter_rows(named=True):
            phones, bare_phones = _custom("PHONE", row["phones"], PHONE_ENUMS, phone=True)
            emails, bare_emails = _custom("EMAIL", row["emails"], EMAIL_ENUMS, phone=False)
            custom = [f for f in (phones, emails) if f]
            if entity == "company" and row.get("website"):
                custom.append({"field_code": "WEB", "values": [{"value": row["website"]}]})
            if entity == "contact" and row.get("job_title"):
                custom.append({"field_code": "POSITION", "values": [{"value": row["job_title"]}]})
            entity_body = {"name": row["NAME"] or NO_NAME}
            if entity == "contact":
                entity_body.update({k: v for k, v in (("first_name", row["first"]), ("last_name", row["last"])) if v})
            if row["assigned"] and str(row["assigned"]).isdigit():
                entity_body["responsible_user_id"] = int(row["assigned"])
            if custom:
                entity_body["custom_fields_values"] = custom
            entity_body["_embedded"] = {"tags": [{"name": TAG}]}
            payload = {"entity": entity_body, "companies": row.get("company_ids") or []}
            records.append(PushRecord(row["golden_id"], payload, payload_hash(payload), name=entity_body["name"],
                                      phones=bare_phones, emails=bare_emails, inn=row.get("inn")))
        return records

    # -- http -------------------------------------------------------------------------------
    def _send(self, method: str, path: str, *, write: bool, **kwargs) -> httpx.Response:
        return self.transport.send(method, self.api + path, write=write, **kwargs)

    def _list(self, path: str, params: dict) -> list[dict]:
        """Every page of a list (204 = nothing)."""
        out, page = [], 1
        while True:
            response = self._send("GET", path, write=False, params={**params, "limit": PAGE, "page": page})
            if response.status_code == 204 or not response.content:
                return out
            if response.status_code != 200:
                raise CrmError(f"amoCRM GET {path}: HTTP {response.status_code} {response.text[:200]}")
            body = response.json()
            items = next(iter((body.get("_embedded") or {}).values()), []) or []
            out.extend(items)
            if not (body.get("_links") or {}).get("next"):
                return out
            page += 1

    # -- create -----------------------------------------------------------------------------
    def create(self, entity: str, records: list[PushRecord]) -> Outcome:
        outcome = Outcome()
        todo = list(records)
        while todo:
            body = [{**r.payload["entity"], "request_id": r.golden_id} for r in todo]
            response = self._send("POST", PLURAL[entity], write=True, json=body)
            if response.status_code == 400:
                bad = self._validation(response, todo)
                if not bad:
                    for rec in todo:
                        outcome.rejected[rec.golden_id] = f"HTTP 400 {response.text[:200]}"
                    break
                outcome.rejected.update(bad)
                todo = [r for r in todo if r.golden_id not in bad]
                continue
            if response.status_code not in (200, 201):
                for rec in todo:
                    outcome.rejected[rec.golden_id] = f"HTTP {response.status_code} {response.text[:200]}"
                break
            created = (response.json().get("_embedded") or {}).get(PLURAL[entity]) or []
            by_request = {str(item.get("request_id")): str(item["id"]) for item in created}
            for i, rec in enumerate(todo):
                rid = by_request.get(rec.golden_id) or (str(created[i]["id"]) if i < len(created) else None)
                if rid:
                    outcome.done[rec.golden_id] = rid
                else:
                    outcome.rejected[rec.golden_id] = "no id in the answer"
            break
        if entity == "contact":
            self._link([(outcome.done[r.golden_id], r.payload["companies"]) for r in records
                        if r.golden_id in outcome.done and r.payload["companies"]], outcome)
        return outcome

    def _validation(self, response: httpx.Response, records: list[PushRecord]) -> dict[str, str]:
        """golden id → why, from a 400 answer's validation-errors."""
        try:
            errors = response.json().get("validation-errors") or []
        except ValueError:
            return {}
        wanted = {r.golden_id for r in records}
        by_index = [r.golden_id for r in records]
        bad = {}
        for item in errors:
            gid = str(item.get("request_id", ""))
            if gid not in wanted and gid.isdigit() and int(gid) < len(by_index):
                gid = by_index[int(gid)]
            if gid in wanted:
                bad[gid] = "; ".join(f"{e.get('path', '')}: {e.get('detail') or e.get('code')}".strip(": ")
                                     for e in item.get("errors") or []) or "validation error"
        return bad

    def _link(self, pairs: list[tuple[str, list[int]]], outcome: Outcome) -> None:
        body = [{"entity_id": int(c), "to_entity_id": int(k), "to_entity_type": "companies"}
                for c, companies in pairs for k in companies]
        for start in range(0, len(body), BATCH):
            response = self._send("POST", "contacts/link", write=False, json=body[start:start + BATCH])
            if response.status_code not in (200, 201, 204):
                outcome.warnings.append(f"amoCRM: contact ↔ company links not saved: HTTP {response.status_code} "
                                        f"{response.text[:200]}")

    # -- look-ups ---------------------------------------------------------------------------
    def reconcile(self, entity: str, records: list[PushRecord]) -> dict[str, str]:
        found = {}
        for rec in records:
            term = (rec.phones or rec.emails or [rec.name])[0]
            for card in self._list(PLURAL[entity], {"query": term}):
                tags = {t.get("name") for t in ((card.get("_embedded") or {}).get("tags") or [])}
                if TAG in tags and card.get("name") == rec.payload["entity"]["name"]:
                    found[rec.golden_id] = str(card["id"])
                    break
        return found

    def portal_index(self, entity: str) -> dict[str, dict]:
        """Every card of `entity` on the portal, downloaded once: id → card."""
        if entity not in self._index:
            self._index[entity] = {str(c["id"]): c for c in self._list(PLURAL[entity], {})}
        return self._index[entity]

    def find_existing(self, entity: str, records: list[PushRecord]) -> dict[str, str]:
        cards = self.portal_index(entity)
        by_value: dict[str, list[str]] = {}
        for rid, card in cards.items():
            fields = _fields_of(card)
            for v in fields.get("PHONE", []):
                by_value.setdefault("p" + channel_key(v, phone=True), []).append(rid)
            for v in fields.get("EMAIL", []):
                by_value.setdefault("e" + channel_key(v, phone=False), []).append(rid)
            if entity == "company":
                by_value.setdefault("n" + str(card.get("name", "")).strip().lower(), []).append(rid)
        found = {}
        for rec in records:
            keys = ["p" + channel_key(p, phone=True) for p in rec.phones] + ["e" + e for e in rec.emails]
            if entity == "company":
                keys.append("n" + rec.name.strip().lower())
            ids = sorted({rid for k in keys for rid in by_value.get(k, [])}, key=int)
            if entity == "contact":
                ours = {"NAME": rec.payload["entity"].get("first_name"), "LAST_NAME": rec.payload["entity"].get("last_name")}
                ids = [i for i in ids if names_agree(ours, {"NAME": cards[i].get("first_name"),
                                                            "LAST_NAME": cards[i].get("last_name")})]
            if ids:
                found[rec.golden_id] = ids[0]
        return found

    # -- update -----------------------------------------------------------------------------
    def update(self, entity: str, pairs: list[tuple[PushRecord, str]], *, ours: bool) -> Outcome:
        ids = [rid for _, rid in pairs]
        cards = {str(c["id"]): c for c in self._list(PLURAL[entity], {"filter[id][]": ids})} if ids else {}
        outcome, body, sent = Outcome(), [], []
        for rec, rid in pairs:
            card = cards.get(str(rid))
            if card is None:
                outcome.rejected[rec.golden_id] = f"card {rid} is no longer on the portal"
                continue
            patch = {"id": int(rid)}
            entity_body = rec.payload["entity"]
            for key in ("name", "first_name", "last_name", "responsible_user_id"):
                if key in entity_body and (ours or not card.get(key)) and card.get(key) != entity_body[key]:
                    patch[key] = entity_body[key]
            have = _fields_of(card)
            merged = []
            for field in entity_body.get("custom_fields_values") or []:
                code = field["field_code"]
                extra = not_on_card(have.get(code, []), field["values"], "value", phone=code == "PHONE")
                if extra:
                    # amoCRM replaces a field's values: send the card's own values with ours
                    merged.append({"field_code": code, "values": _keep_enums(card, code) + extra})
            if merged:
                patch["custom_fields_values"] = merged
            body.append(patch)
            sent.append((rec, rid))
        for start in range(0, len(body), BATCH):
            response = self._send("PATCH", PLURAL[entity], write=True, json=body[start:start + BATCH])
            chunk = sent[start:start + BATCH]
            if response.status_code in (200, 201, 202):
                outcome.done.update({rec.golden_id: str(rid) for rec, rid in chunk})
            else:
                for rec, _ in chunk:
                    outcome.rejected[rec.golden_id] = f"HTTP {response.status_code} {response.text[:200]}"
        if entity == "contact":
            self._link([(rid, rec.payload["companies"]) for rec, rid in pairs
                        if rec.golden_id in outcome.done and rec.payload["companies"]], outcome)
        return outcome


def _keep_enums(card: dict, code: str) -> list[dict]:
    for field in card.get("custom_fields_values") or []:
        if field.get("field_code") == code:
            return [{k: v for k, v in item.items() if k in ("value", "enum_id", "enum_code")}
                    for item in field.get("values") or []]
    return []
