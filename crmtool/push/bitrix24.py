"""The Bitrix24 push target: companies with their requisites, then contacts with their
phones, e-mails, responsible user and companies, all through full `batch` requests.

Before a contact or company is created it is looked up on the portal by its phones and
e-mails (crm.duplicate.findbycomm; companies also by ИНН through their requisites). The
lookup goes twenty values to a command, fifty commands to a request, and only the groups
that hit are asked again record by record, so a fresh portal costs a few requests per
thousand records. A contact found by a shared number is taken for the same person only
when the names agree (a switchboard number is not a person).
"""

from __future__ import annotations

from crmtool.export.data import ExportData
from crmtool.push import bitrix24_payloads as payloads
from crmtool.push.channels import not_on_card
from crmtool.push.bitrix24_api import BATCH_MAX, Bitrix24Api, Endpoint, error_text
from crmtool.push.records import Outcome, PushRecord
from crmtool.push.transport import Transport

FINDBYCOMM_MAX = 20
ENTITY_TYPE = {"contact": "CONTACT", "company": "COMPANY"}
REQUISITE_PRESETS = {False: "#CRM_REQUISITE_PRESET_DEF_RU_COMPANY#", True: "#CRM_REQUISITE_PRESET_DEF_RU_INDIVIDUAL#"}


def _key(text: str | None) -> str:
    return (text or "").strip().lower().replace("ё", "е")


def _first(fields: dict) -> str:
    name = _key(fields.get("NAME"))
    return "" if name == _key(payloads.NO_NAME) else name


def names_agree(ours: dict, theirs: dict) -> bool:
    """Our contact and a portal card are the same person as far as names tell: last names
    equal where both have one, first names equal (or one is the other's initial) where both
    have one, and at least one of the two actually compared."""
    last_a, last_b = _key(ours.get("LAST_NAME")), _key(theirs.get("LAST_NAME"))
    first_a, first_b = _first(ours), _first(theirs)
    if last_a and last_b and last_a != last_b:
        return False
    if first_a and first_b and first_a != first_b:
        short = min(first_a, first_b, key=len).rstrip(".")
        if len(short) > 1 or not max(first_a, first_b, key=len).startswith(short):
            return False
    return bool(last_a and last_b) or bool(first_a and first_b)


def lookup_phones(rec: PushRecord) -> list[str]:
    """The record's phones as the portal may hold them: a Russian number also as 8XXXXXXXXXX,
    the way people type it (the portal's duplicate index compares digits)."""
    out = []
    for phone in rec.phones:
        out.append(phone)
        if phone.startswith("+7") and len(phone) == 12:
            out.append("8" + phone[2:])
    return out


def merged_multi(existing: list[dict] | None, ours: list[dict] | None, phone: bool) -> list[dict]:
    """Our PHONE / EMAIL items the card lacks, to append (items without ID are added)."""
    return not_on_card((item.get("VALUE", "") for item in existing or []), ours, "VALUE", phone)


class Bitrix24Target:
    name = "bitrix24"

    def __init__(self, where: Endpoint, transport: Transport, users: dict[str, str] | None = None):
        self.where = where
        self.transport = transport
        self.api = Bitrix24Api(where, transport)
        self.users = users or {}
        self.identity = where.identity
        self._presets: dict[bool, int | None] | None = None

    def close(self) -> None:
        self.transport.close()

    def batch_size(self, entity: str) -> int:
        return BATCH_MAX // 2 if entity == "company" else BATCH_MAX   # a company takes two commands

    def records(self, entity: str, data: ExportData, company_ids: dict[str, str]) -> list[PushRecord]:
        if entity == "company":
            return payloads.company_records(data, self.users)
        return payloads.contact_records(data, self.users, company_ids)

    # -- create -----------------------------------------------------------------------------
    def presets(self) -> dict[bool, int | None]:
        """The requisite presets for a company and for an ИП (by their standard XML_ID; the
        first active preset otherwise)."""
        if self._presets is None:
            rows = self.api.call("crm.requisite.preset.list", {"select": ["ID", "XML_ID", "ACTIVE"]}) or []
            active = [r for r in rows if r.get("ACTIVE", "Y") == "Y"]
            by_xml = {r.get("XML_ID"): int(r["ID"]) for r in active}
            first = int(active[0]["ID"]) if active else None
            self._presets = {person: by_xml.get(xml, first) for person, xml in REQUISITE_PRESETS.items()}
        return self._presets

    def create(self, entity: str, records: list[PushRecord]) -> Outcome:
        method = f"crm.{entity}.add"
        groups = []
        presets = self.presets() if entity == "company" and any(r.payload.get("requisite") for r in records) else {}
        for i, rec in enumerate(records):
            group = {f"c{i}": (method, {"fields": rec.payload["fields"], "params": {"REGISTER_SONET_EVENT": "N"}})}
            requisite = rec.payload.get("requisite")
            preset = presets.get(rec.payload.get("person", False)) if requisite else None
            if requisite and preset:
                group[f"r{i}"] = ("crm.requisite.add", {"fields": {
                    "ENTITY_TYPE_ID": payloads.ENTITY_COMPANY, "ENTITY_ID": f"$result[c{i}]", "PRESET_ID": preset,
                    "NAME": rec.name or "Реквизиты", "ACTIVE": "Y", **requisite}})
            groups.append(group)
        results, errors = self.api.batches(groups, write=True)
        outcome = Outcome()
        for i, rec in enumerate(records):
            if f"c{i}" in results and results[f"c{i}"]:
                outcome.done[rec.golden_id] = str(results[f"c{i}"])
                if f"r{i}" in errors:
                    outcome.warnings.append(f"company {rec.golden_id} ({rec.name}): requisites not saved: "
                                            f"{error_text(errors[f'r{i}'])}")
            else:
                outcome.rejected[rec.golden_id] = error_text(errors.get(f"c{i}", "no id in the answer"))
        return outcome

    # -- look-ups ---------------------------------------------------------------------------
    def reconcile(self, entity: str, records: list[PushRecord]) -> dict[str, str]:
        """Which of `records` are on the portal already, by the ORIGIN_ID mark we gave them."""
        wanted = [r.golden_id for r in records]
        found: dict[str, str] = {}
        step = 25   # ≤ 50 per answer page even if a record landed twice
        groups = [{f"o{n}": (f"crm.{entity}.list", {
            "filter": {"ORIGINATOR_ID": payloads.ORIGINATOR, "ORIGIN_ID": wanted[n:n + step]},
            "select": ["ID", "ORIGIN_ID"], "order": {"ID": "ASC"}})} for n in range(0, len(wanted), step)]
        results, errors = self.api.batches(groups, write=False)
        for key, error in errors.items():
            raise RuntimeError(f"crm.{entity}.list: {error_text(error)}")
        for rows in results.values():
            for row in rows or []:
                found.setdefault(str(row["ORIGIN_ID"]), str(row["ID"]))   # the oldest, if twice
        return {gid: rid for gid, rid in found.items() if gid in set(wanted)}

    def find_existing(self, entity: str, records: list[PushRecord]) -> dict[str, str]:
        """golden id → the id of the card the portal already has for it."""
        kind = ENTITY_TYPE[entity]
        candidates: dict[str, list[int]] = {}
        for comm, values_of in (("PHONE", lookup_phones), ("EMAIL", lambda r: r.emails)):
            hit = self._groups_that_hit(kind, comm, records, values_of)
            if not hit:
                continue
            groups = [{f"{comm}{i}": ("crm.duplicate.findbycomm", {
                "entity_type": kind, "type": comm, "values": values_of(rec)[:FINDBYCOMM_MAX]})}
                for i, rec in enumerate(hit)]
            results, _ = self.api.batches(groups, write=False)
            for i, rec in enumerate(hit):
                ids = (results.get(f"{comm}{i}") or {})
                ids = ids.get(kind, []) if isinstance(ids, dict) else []
                candidates.setdefault(rec.golden_id, []).extend(int(x) for x in ids)
        if entity == "company":
            for gid, rid in self._companies_by_inn(records).items():
                candidates.setdefault(gid, []).insert(0, int(rid))
        if entity == "contact" and candidates:
            candidates = self._same_names(records, candidates)
        return {gid: str(min(ids)) if entity == "contact" else str(ids[0])
                for gid, ids in candidates.items() if ids}

    def _groups_that_hit(self, kind, comm, records, values_of) -> list[PushRecord]:
        """The records whose values the portal knows: values twenty to a command, and the
        records of every command that found something."""
        owners: list[tuple[str, PushRecord]] = [(v, r) for r in records for v in values_of(r)]
        if not owners:
            return []
        groups = [{f"g{n}": ("crm.duplicate.findbycomm", {
            "entity_type": kind, "type": comm, "values": sorted({v for v, _ in owners[n:n + FINDBYCOMM_MAX]})})}
            for n in range(0, len(owners), FINDBYCOMM_MAX)]
        results, _ = self.api.batches(groups, write=False)
        hit: dict[str, PushRecord] = {}
        for n in range(0, len(owners), FINDBYCOMM_MAX):
            answer = results.get(f"g{n}")
            if isinstance(answer, dict) and answer.get(kind):
                for _, rec in owners[n:n + FINDBYCOMM_MAX]:
                    hit[rec.golden_id] = rec
        return list(hit.values())

    def _companies_by_inn(self, records: list[PushRecord]) -> dict[str, str]:
        by_inn = {}
        for rec in records:
            if rec.inn:
                by_inn.setdefault(rec.inn, []).append(rec.golden_id)
        inns = sorted(by_inn)
        step = 25
        groups = [{f"i{n}": ("crm.requisite.list", {
            "filter": {"ENTITY_TYPE_ID": payloads.ENTITY_COMPANY, "RQ_INN": inns[n:n + step]},
            "select": ["ENTITY_ID", "RQ_INN", "RQ_KPP"], "order": {"ENTITY_ID": "ASC"}})}
            for n in range(0, len(inns), step)]
        if not groups:
            return {}
        results, _ = self.api.batches(groups, write=False)
        kpp_of = {r.golden_id: (r.payload.get("requisite") or {}).get("RQ_KPP") for r in records}
        found = {}
        for rows in results.values():
            for row in rows or []:
                for gid in by_inn.get(str(row.get("RQ_INN")), []):
                    # a branch (other КПП) is another company
                    if kpp_of.get(gid) and row.get("RQ_KPP") and row["RQ_KPP"] != kpp_of[gid]:
                        continue
                    found.setdefault(gid, str(row["ENTITY_ID"]))
        return found

    def _same_names(self, records: list[PushRecord], candidates: dict[str, list[int]]) -> dict[str, list[int]]:
        ids = sorted({i for found in candidates.values() for i in found})
        cards = self.get_cards("contact", ids)
        ours = {r.golden_id: r.payload["fields"] for r in records}
        return {gid: [i for i in found if i in cards and names_agree(ours[gid], cards[i])]
                for gid, found in candidates.items()}

    def get_cards(self, entity: str, ids: list[int]) -> dict[int, dict]:
        groups = [{f"d{i}": (f"crm.{entity}.get", {"id": i})} for i in ids]
        results, _ = self.api.batches(groups, write=False)
        return {int(key[1:]): card for key, card in results.items() if isinstance(card, dict)}

    # -- update -----------------------------------------------------------------------------
    def update(self, entity: str, pairs: list[tuple[PushRecord, str]], *, ours: bool) -> Outcome:
        """Cards we made get our values; cards the portal had get only what they lack. Phones and
        e-mails are added, never replaced; a contact's companies are added to its own."""
        cards = self.get_cards(entity, [int(rid) for _, rid in pairs])
        groups, outcome = [], Outcome()
        for i, (rec, rid) in enumerate(pairs):
            card = cards.get(int(rid))
            if card is None:
                outcome.rejected[rec.golden_id] = f"card {rid} is no longer on the portal"
                continue
            fields = {}
            for name, value in rec.payload["fields"].items():
                if name in ("PHONE", "EMAIL", "WEB"):
                    added = merged_multi(card.get(name), value, phone=name == "PHONE")
                    if added:
                        fields[name] = added
                elif name in ("COMPANY_IDS", "ORIGINATOR_ID", "ORIGIN_ID") and not ours:
                    continue
                elif name == "COMPANY_IDS":
                    continue
                elif ours or card.get(name) in (None, "", [], "0"):
                    if str(card.get(name) or "") != str(value):
                        fields[name] = value
            group = {f"u{i}": (f"crm.{entity}.update", {"id": rid, "fields": fields,
                                                        "params": {"REGISTER_SONET_EVENT": "N"}})}
            for company in rec.payload["fields"].get("COMPANY_IDS", []) if entity == "contact" else []:
                group[f"l{i}_{company}"] = ("crm.contact.company.add", {"id": rid, "fields": {"COMPANY_ID": company}})
            groups.append(group)
        results, errors = self.api.batches(groups, write=True)
        for i, (rec, rid) in enumerate(pairs):
            if rec.golden_id in outcome.rejected:
                continue
            if f"u{i}" in errors:
                outcome.rejected[rec.golden_id] = error_text(errors[f"u{i}"])
            else:
                outcome.done[rec.golden_id] = str(rid)
        return outcome
