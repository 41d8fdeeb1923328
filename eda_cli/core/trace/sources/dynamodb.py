"""DynamoDB: idempotency tables (records that carry the id, or keyed by a message id) and items keyed by the id."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from eda_cli.core.records import item_to_plain
from eda_cli.core.trace.match import carries, mentions, powertools_hash
from eda_cli.core.trace.model import IDEMPOTENCY, TABLE, Hit, Place, epoch_of, iso_from_epoch
from eda_cli.core.trace.sources.base import Found, plural

if TYPE_CHECKING:
    from mypy_boto3_dynamodb import DynamoDBClient

#: Budget: a search stops there and says it did not read everything (`Place.complete` False).
SCAN_ITEM_BUDGET = 100_000


@dataclass(frozen=True)
class TableInfo:
    name: str
    hash_key: str
    hash_type: str
    range_key: str | None = None
    range_type: str | None = None
    ttl_attribute: str | None = None


def describe_table(dynamodb: DynamoDBClient, name: str, ttl_attribute: str | None = None, *,
                   with_ttl: bool = True) -> TableInfo:
    table = dynamodb.describe_table(TableName=name)["Table"]
    types = {a["AttributeName"]: a["AttributeType"] for a in table.get("AttributeDefinitions", [])}
    hash_key = range_key = None
    for key in table.get("KeySchema", []):
        if key.get("KeyType") == "HASH":
            hash_key = key["AttributeName"]
        elif key.get("KeyType") == "RANGE":
            range_key = key["AttributeName"]
    if ttl_attribute is None and with_ttl:
        ttl = dynamodb.describe_time_to_live(TableName=name).get("TimeToLiveDescription", {})
        if ttl.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
            ttl_attribute = ttl.get("AttributeName")
    return TableInfo(
        name=name,
        hash_key=str(hash_key or ""),
        hash_type=types.get(str(hash_key), "S"),
        range_key=range_key,
        range_type=types.get(range_key) if range_key else None,
        ttl_attribute=ttl_attribute,
    )


#: Attributes that say when a record was written, in the order they are tried.
_WRITTEN_AT = ("processedAt", "processed_at", "completedAt", "completed_at", "createdAt", "created_at",
               "timestamp", "time")
#: Attributes that say who wrote a record.
_WRITTEN_BY = ("queue", "consumer", "function", "handler", "service")


def _number(value: Any) -> float | None:
    try:
        return float(value) if value is not None and not isinstance(value, bool) else None
    except (TypeError, ValueError):
        return None


def record_hit(table: TableInfo, item: dict[str, Any], found_by: str, now: float) -> Hit:
    """An idempotency record, as Powertools writes it (`id`, `status`, `expiration`) or as a
    consumer with its own table does (a message id and a TTL attribute)."""
    key = item.get(table.hash_key)
    status = item.get("status")
    powertools = isinstance(status, str) and ("expiration" in item or table.hash_key == "id")
    expires = _number(item.get(table.ttl_attribute or "expiration"))
    if expires is None and table.ttl_attribute:
        expires = _number(item.get("expiration"))
    expired = expires is not None and expires < now
    written = next((epoch_of(item[k]) for k in _WRITTEN_AT if k in item and epoch_of(item[k])), None)
    by = next((str(item[k]) for k in _WRITTEN_BY if isinstance(item.get(k), str) and item[k]), None)
    if by is None and powertools and isinstance(key, str) and "#" in key:
        by = key.split("#", 1)[0]
    state = str(status).upper() if powertools else "PROCESSED"
    words = {"COMPLETED": "processed", "PROCESSED": "processed", "INPROGRESS": "in progress"}
    text = words.get(state, state.lower())
    if by:
        text += f" by {by}"
    text += f", {table.hash_key}={key}"
    lock_expired = False
    if state == "INPROGRESS":
        lock = _number(item.get("in_progress_expiration"))
        if lock is not None:
            lock_epoch = lock / 1000 if lock > 1e11 else lock
            lock_expired = lock_epoch < now
            if lock_expired:
                text += f"; its in-progress lock expired at {iso_from_epoch(lock_epoch)} (the handler crashed " \
                        "or timed out before completing)"
    if expires is not None:
        if expired:
            text += (f"; EXPIRED at {iso_from_epoch(expires)} but not yet deleted by DynamoDB's TTL "
                     "(a redelivery would be processed again)")
        else:
            text += f"; expires {iso_from_epoch(expires)}"
    return Hit(
        epoch=written,
        source=IDEMPOTENCY,
        resource=table.name,
        summary=text,
        detail={
            "key": {table.hash_key: key, **({table.range_key: item.get(table.range_key)} if table.range_key else {})},
            "status": state,
            "by": by,
            "written_at": iso_from_epoch(written),
            "expires_at": iso_from_epoch(expires),
            "expired": expired,
            "lock_expired": lock_expired,
            "format": "powertools" if powertools else "ttl-record",
            "found_by": found_by,
            "item": item,
        },
    )


def _record_carries(table: TableInfo, item: dict[str, Any], correlation_id: str) -> bool:
    key = item.get(table.hash_key)
    if isinstance(key, str) and key.endswith("#" + powertools_hash(correlation_id)):
        return True
    if isinstance(key, str) and mentions(key, correlation_id):
        return True
    return carries(item, correlation_id)


def search_idempotency_table(
    dynamodb: DynamoDBClient,
    name: str,
    correlation_id: str,
    paths: tuple[str, ...],
    *,
    ttl_attribute: str | None = None,
    now: float,
    budget: int = SCAN_ITEM_BUDGET,
) -> Found:
    """Records that carry the id: a Scan filtered on the key (the id itself, or the hash Powertools
    makes of it), the top-level id attributes, and Powertools' `data`. Records keyed by message id
    are looked up afterwards (`lookup_message_ids`), once the queues have named the messages."""
    table = describe_table(dynamodb, name, ttl_attribute)
    names: dict[str, str] = {}
    values: dict[str, Any] = {":cid": {"S": correlation_id}}
    clauses: list[str] = []
    if table.hash_type == "S":
        names["#k"] = table.hash_key
        values[":h"] = {"S": powertools_hash(correlation_id)}
        clauses += ["contains(#k, :cid)", "contains(#k, :h)"]
    attributes = [p for p in paths if "." not in p and p != table.hash_key]
    for i, attribute in enumerate(attributes):
        names[f"#a{i}"] = attribute
        clauses.append(f"#a{i} = :cid")
    names["#d"] = "data"
    clauses.append("contains(#d, :cid)")
    scanned = 0
    complete = True
    hits: list[Hit] = []
    kwargs: dict[str, Any] = {"TableName": name, "FilterExpression": " OR ".join(clauses),
                              "ExpressionAttributeNames": names, "ExpressionAttributeValues": values}
    while True:
        page = dynamodb.scan(**kwargs)
        scanned += int(page.get("ScannedCount", 0))
        for raw in page.get("Items", []):
            item = item_to_plain(raw) or {}
            if _record_carries(table, item, correlation_id):
                hits.append(record_hit(table, item, "correlation id", now))
        last = page.get("LastEvaluatedKey")
        if not last:
            break
        if scanned >= budget:
            complete = False
            break
        kwargs["ExclusiveStartKey"] = last
    note = f"scanned {plural(scanned, 'item')}, {plural(len(hits), 'record')} carry the id"
    if not complete:
        note += f"; stopped after {budget} items"
    return Found(hits=hits, places=[Place(IDEMPOTENCY, name, note, complete=complete)], tables=[table])


def lookup_message_ids(dynamodb: DynamoDBClient, table: TableInfo, message_ids: list[str], now: float) -> list[Hit]:
    """Records keyed by these SQS message ids (BatchGetItem), for tables keyed by one string."""
    if table.hash_type != "S" or table.range_key or not message_ids:
        return []
    hits: list[Hit] = []
    unique = sorted(set(message_ids))
    for start in range(0, len(unique), 100):
        keys = [{table.hash_key: {"S": mid}} for mid in unique[start : start + 100]]
        request: dict[str, Any] = {table.name: {"Keys": keys}}
        for _ in range(5):
            answer = dynamodb.batch_get_item(RequestItems=request)
            for raw in answer.get("Responses", {}).get(table.name, []):
                item = item_to_plain(raw) or {}
                hits.append(record_hit(table, item, "message id", now))
            request = answer.get("UnprocessedKeys") or {}
            if not request:
                break
        else:
            raise RuntimeError(f"DynamoDB left keys of {table.name} unprocessed after 5 attempts")
    return hits


def search_table_items(dynamodb: DynamoDBClient, name: str, correlation_id: str) -> Found:
    """Items whose partition key is the id: GetItem on a one-key table, Query on a two-key one."""
    table = describe_table(dynamodb, name, with_ttl=False)
    value: dict[str, str]
    if table.hash_type == "N":
        if _number(correlation_id) is None:
            return Found(places=[Place(TABLE, name, f"its key {table.hash_key} is a number: not looked up")])
        value = {"N": correlation_id}
    elif table.hash_type == "S":
        value = {"S": correlation_id}
    else:
        return Found(places=[Place(TABLE, name, f"its key {table.hash_key} is binary: not looked up")])
    items: list[Mapping[str, Any]] = []
    if table.range_key is None:
        got = dynamodb.get_item(TableName=name, Key={table.hash_key: value})
        if got.get("Item"):
            items.append(got["Item"])
        how = "GetItem"
    else:
        answer = dynamodb.query(TableName=name, KeyConditionExpression="#k = :v",
                                ExpressionAttributeNames={"#k": table.hash_key},
                                ExpressionAttributeValues={":v": value}, Limit=100)
        items.extend(answer.get("Items", []))
        how = "Query"
    hits = []
    for raw in items:
        item = item_to_plain(raw) or {}
        written = next((epoch_of(item[k]) for k in _WRITTEN_AT if k in item and epoch_of(item[k])), None)
        keys = {table.hash_key: item.get(table.hash_key)}
        if table.range_key:
            keys[table.range_key] = item.get(table.range_key)
        text = "item " + ", ".join(f"{k}={v}" for k, v in keys.items())
        if isinstance(item.get("status"), str):
            text += f", status {item['status']}"
        hits.append(Hit(written, TABLE, name, text, {"key": keys, "item": item}))
    return Found(hits=hits, places=[Place(TABLE, name, f"{how} by {table.hash_key}: {plural(len(hits), 'item')}")])
