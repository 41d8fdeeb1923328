"""What the presets find in free text: card numbers (Luhn), emails, phone numbers and IBANs.

Each finder replaces what it finds with a typed mask (`<card ••••4242>`, `<email>`, `<phone>`, `<iban>`).
They run in this order, each on what the previous left: emails, IBANs, international phone numbers (a `+`
and 8 to 15 digits), card numbers, then national phone numbers ((415) 555-2671, 415-555-2671, 020 7946 0958).

* A card number is a run of 13 to 19 digits, alone or in groups joined by single spaces or dashes
  (`4242 4242 4242 4242`, `4242-4242-4242-4242`), that passes the Luhn check. In a longer chain of digit
  groups, any 13-19-digit span of whole groups that passes is masked. Any Luhn-valid run counts, whatever its
  first digits: masking an epoch-millisecond timestamp by mistake (one in ten of them passes Luhn) is the price
  of never letting a card through.
* An IBAN is two capital letters, two check digits and up to 30 letters or digits (spaces between groups
  allowed), 15 to 34 characters in all, that passes the ISO 13616 mod-97 check.
* A phone number is what the patterns above say; a bare run of digits (an order id?) is not one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

PCI = "pci"
PII = "pii"
PRESETS = (PCI, PII)

EMAIL_MASK = "<email>"
PHONE_MASK = "<phone>"
IBAN_MASK = "<iban>"


def card_mask(digits: str) -> str:
    return f"<card ••••{digits[-4:]}>"


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check of a string of digits."""
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = ord(char) - 48
        if index % 2:
            value *= 2
            if value > 9:
                value -= 9
        total += value
    return total % 10 == 0


def is_card_number(digits: str) -> bool:
    return 13 <= len(digits) <= 19 and digits.isdigit() and luhn_ok(digits)


# -- cards --------------------------------------------------------------------------------------------

#: A chain of digit groups joined by single spaces or dashes, not touching other digits.
_DIGIT_CHAIN = re.compile(r"(?<![0-9])[0-9]+(?:[ -][0-9]+)*(?![0-9])")
_GROUP = re.compile(r"[0-9]+")


def _mask_cards(text: str) -> str:
    if not any(c.isdigit() for c in text):
        return text
    out: list[str] = []
    last = 0
    for chain in _DIGIT_CHAIN.finditer(text):
        if sum(c.isdigit() for c in chain.group()) < 13:
            continue
        base = chain.start()
        groups = [(m.start() + base, m.end() + base, m.group()) for m in _GROUP.finditer(chain.group())]
        index = 0
        while index < len(groups):
            found = None
            digits = ""
            spans: list[tuple[int, str]] = []
            for end in range(index, len(groups)):
                digits += groups[end][2]
                if len(digits) > 19:
                    break
                spans.append((end, digits))
            for end, candidate in reversed(spans):  # the longest card first
                if is_card_number(candidate):
                    found = (end, candidate)
                    break
            if found is None:
                index += 1
                continue
            end, candidate = found
            out.append(text[last:groups[index][0]])
            out.append(card_mask(candidate))
            last = groups[end][1]
            index = end + 1
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


# -- emails -------------------------------------------------------------------------------------------

_EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(?:\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def _mask_emails(text: str) -> str:
    return _EMAIL.sub(EMAIL_MASK, text) if "@" in text else text


# -- phones -------------------------------------------------------------------------------------------

_PHONE_INTERNATIONAL = re.compile(r"(?<![\w+])\+[0-9](?:[ .()\-]{0,2}[0-9]){6,16}(?![0-9])")
_PHONE_NANP = re.compile(r"(?<![\w(+])(?:\([0-9]{3}\) ?|[0-9]{3}[ .\-])[0-9]{3}[ .\-][0-9]{4}(?![\w])")
_PHONE_NATIONAL = re.compile(r"(?<![\w+.\-])0[0-9]{1,4}(?:[ .\-][0-9]{2,6}){1,4}(?![\w]|[.\-][0-9])")


def _digit_count(text: str) -> int:
    return sum(c.isdigit() for c in text)


def _mask_international(text: str) -> str:
    if "+" not in text:
        return text
    return _PHONE_INTERNATIONAL.sub(lambda m: PHONE_MASK if 8 <= _digit_count(m.group()) <= 15 else m.group(), text)


def _mask_national(text: str) -> str:
    text = _PHONE_NANP.sub(PHONE_MASK, text)
    return _PHONE_NATIONAL.sub(lambda m: PHONE_MASK if 9 <= _digit_count(m.group()) <= 11 else m.group(), text)


# -- IBANs --------------------------------------------------------------------------------------------

_IBAN_START = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?=[ ]?[A-Z0-9])")
_IBAN_BODY = re.compile(r"(?:[ ]?[A-Z0-9])+")


def iban_ok(compact: str) -> bool:
    """ISO 13616: 15-34 characters, letters as 10-35, rotated, mod 97 == 1."""
    if not 15 <= len(compact) <= 34 or not compact[:2].isalpha() or not compact[2:4].isdigit():
        return False
    rotated = compact[4:] + compact[:4]
    number = "".join(str(int(c, 36)) for c in rotated)
    return int(number) % 97 == 1


def _mask_ibans(text: str) -> str:
    if not _IBAN_START.search(text):
        return text
    out: list[str] = []
    last = 0
    position = 0
    while True:
        start = _IBAN_START.search(text, position)
        if start is None:
            break
        body = _IBAN_BODY.match(text, start.end())
        stop = body.end() if body else start.end()
        found = None
        # The longest prefix that ends at a character boundary (before a space or the end) and passes.
        for end in range(stop, start.end(), -1):
            if end < len(text) and text[end].isalnum():
                continue
            if iban_ok(text[start.start():end].replace(" ", "")):
                found = end
                break
        if found is None:
            position = start.start() + 1
            continue
        out.append(text[last:start.start()])
        out.append(IBAN_MASK)
        last = position = found
    if not out:
        return text
    out.append(text[last:])
    return "".join(out)


#: The finders of each preset, in the order they run (see the module's docstring).
_ORDER: tuple[tuple[str, Callable[[str], str]], ...] = (
    (PII, _mask_emails),
    (PII, _mask_ibans),
    (PII, _mask_international),
    (PCI, _mask_cards),
    (PII, _mask_national),
)


def scrub(text: str, presets: Iterable[str]) -> str:
    """`text` with what the presets find replaced by typed masks."""
    wanted = set(presets)
    for preset, finder in _ORDER:
        if preset in wanted:
            text = finder(text)
    return text


def scrub_number(value: int, presets: Iterable[str]) -> str | None:
    """The mask for a JSON integer that is a card number (pci), else None."""
    if PCI in presets and not isinstance(value, bool):
        digits = str(abs(value))
        if is_card_number(digits):
            return card_mask(digits)
    return None
