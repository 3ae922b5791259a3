"""Talk to a library management system over SIP2 the way the integration will, and say what it saw.

    scripts/sip2-probe HOST:PORT --login USER --password PASS --institution INST [--location LOC]
        [--dialect evergreen|koha|polaris|custom] [--tls [--cafile FILE | --insecure]]
        [--card-case as_typed|upper|lower] --card CARD --pin PIN

Logs in (93), asks the status (99), then patron information (63) for the card with the PIN, and
prints the fields the integration reads and the decision it would take from them. The PIN and
the password are never printed; the card is masked. Exit status 0 when the conversation
succeeded, whatever the decision; 1 with a one-line error when it did not; 2 for bad arguments,
among them a card or PIN the door would refuse as `invalid_request` (the same check,
engine.sip2's `patron_input_problem`, made before anything is sent).
"""

from __future__ import annotations

import argparse
import asyncio
from datetime import date
import ssl
import sys

from custom_components.smart_library.engine.lms.gateway import (
    DEFAULT_CARD_CASE,
    DEFAULT_REFUSING_FLAGS,
    DIALECT_NAMES,
    FLAG_NAMES,
    CardCase,
    LmsPolicy,
    LmsVerdict,
    apply_card_case,
    evaluate,
    make_dialect,
)
from custom_components.smart_library.engine.lms.sip2 import (
    DEFAULT_PORT,
    ENCODINGS,
    Sip2Client,
    Sip2Config,
    Sip2ConnectionError,
    Sip2Error,
    Sip2InputError,
    Sip2LoginError,
    Sip2MalformedError,
    Sip2TimeoutError,
    patron_input_problem,
)
from custom_components.smart_library.engine.members.membership import MIN_AGE

PROG = "sip2-probe"


def _address(text: str) -> tuple[str, int]:
    host, sep, port = text.rpartition(":")
    if not sep:
        return text, DEFAULT_PORT
    try:
        return host.strip("[]"), int(port)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not HOST:PORT: {text!r}") from None


def _flags(text: str) -> frozenset[int]:
    try:
        flags = frozenset(int(f) for f in text.split(",") if f.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            "flags are numbers 0-13, comma separated"
        ) from None
    if any(not 0 <= f <= 13 for f in flags):
        raise argparse.ArgumentTypeError("flags are numbered 0 to 13")
    return flags


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Check a card and PIN against a library management system over SIP2, "
        "as the Smart Library integration would.",
    )
    parser.add_argument(
        "address", type=_address, help="HOST:PORT of the LMS's SIP2 service"
    )
    parser.add_argument(
        "--login", default="", help="SIP login user (CN); empty: no login"
    )
    parser.add_argument("--password", default="", help="SIP login password (CO)")
    parser.add_argument("--institution", default="", help="institution id (AO)")
    parser.add_argument(
        "--location", default="", help="location code (CP) sent at login"
    )
    parser.add_argument(
        "--terminal-password", default="", help="terminal password (AC)"
    )
    parser.add_argument("--dialect", default="evergreen", choices=DIALECT_NAMES)
    parser.add_argument(
        "--expiry-field", help="custom dialect: the expiry's field code"
    )
    parser.add_argument(
        "--birth-date-field", help="custom dialect: the birth date's field code"
    )
    parser.add_argument(
        "--category-field", help="custom dialect: the category's field code"
    )
    parser.add_argument(
        "--refuse-flags",
        type=_flags,
        default=DEFAULT_REFUSING_FLAGS,
        help="patron status flags that refuse entry (default "
        + ",".join(str(f) for f in sorted(DEFAULT_REFUSING_FLAGS))
        + ")",
    )
    parser.add_argument("--allow-categories", default="", help="comma separated")
    parser.add_argument("--deny-categories", default="", help="comma separated")
    parser.add_argument("--encoding", default="cp850", choices=ENCODINGS)
    parser.add_argument(
        "--no-checksums", action="store_true", help="send no AY/AZ error detection"
    )
    parser.add_argument("--tls", action="store_true", help="connect over TLS")
    parser.add_argument("--cafile", help="with --tls: trust this CA (PEM)")
    parser.add_argument(
        "--insecure",
        action="store_true",
        help="with --tls: do not check the certificate",
    )
    parser.add_argument("--timeout", type=float, default=5.0, help="seconds per answer")
    parser.add_argument(
        "--card-case",
        default=DEFAULT_CARD_CASE.value,
        choices=[c.value for c in CardCase],
        help="how the card's letters are sent, as the service's setting says "
        "(default: as typed)",
    )
    parser.add_argument("--card", required=True, help="the card number to check")
    parser.add_argument("--pin", required=True, help="the card's PIN (never printed)")
    return parser.parse_args(argv)


def _ssl_context(args: argparse.Namespace) -> ssl.SSLContext | None:
    if not args.tls:
        return None
    context = ssl.create_default_context(cafile=args.cafile)
    if args.insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _split(text: str) -> frozenset[str]:
    return frozenset(c for c in (p.strip() for p in text.split(",")) if c)


def _describe_flags(verdict: LmsVerdict, policy: LmsPolicy) -> str:
    if not verdict.patron.flags:
        return "no flag set"
    parts = [
        f"{n} {FLAG_NAMES[n]} ({'refuses' if n in policy.refusing_flags else 'let through'})"
        for n in sorted(verdict.patron.flags)
    ]
    return "; ".join(parts)


def _report(verdict: LmsVerdict, policy: LmsPolicy, today: date) -> list[str]:
    patron = verdict.patron
    dialect = policy.dialect
    meaning = {
        "BL": "valid patron",
        "CQ": "valid PIN",
        dialect.expiry: "expiry",
        dialect.birth_date: "birth date",
        dialect.category: "category",
    }
    lines = [f"  patron information (63/64) for card {patron.masked_card}:"]
    for code, value in patron.used:
        if code == "status":
            lines.append(f"    patron status: {_describe_flags(verdict, policy)}")
            continue
        text = f"    {code} {meaning.get(code, code)}: {value!r}"
        if code == dialect.expiry:
            text += f" -> {patron.expiry or 'not a date'}"
        elif code == dialect.birth_date:
            age = patron.age(today)
            text += f" -> {patron.birth_date or 'not a date'}"
            text += f" (age {age})" if age is not None else ""
        lines.append(text)
    if "CQ" not in (code for code, _ in patron.used) and patron.valid_patron:
        lines.append("    CQ valid PIN: missing (the LMS did not check the PIN)")
    wanted: tuple[tuple[str, str | None], ...] = (
        ("expiry", dialect.expiry),
        ("birth date", dialect.birth_date),
        ("category", dialect.category),
    )
    for name, wanted_code in wanted:
        if wanted_code is None:
            lines.append(f"    {name}: not read in the {dialect.name} dialect")
        elif patron.valid_patron and wanted_code not in (c for c, _ in patron.used):
            lines.append(f"    {wanted_code} {name}: not in the answer")
    if patron.screen_message:
        lines.append(f"    AF screen message: {patron.screen_message!r}")
    reason = str(verdict.reason)
    age = patron.age(today)
    if verdict.granted and age is not None and age < MIN_AGE:
        reason = "under_16 (only with an adult of 18 or over and the adult's PIN)"
    lines.append(f"decision: {reason}")
    lines.append(
        "  (the LMS's part; Home Assistant still applies induction, local bars and final "
        "warnings, staff cards, opening hours and room bookings)"
    )
    return lines


async def probe(args: argparse.Namespace) -> int:
    """Hold the conversation and print what was learnt; return the exit status."""
    host, port = args.address
    try:
        policy = LmsPolicy(
            dialect=make_dialect(
                args.dialect,
                expiry=args.expiry_field,
                birth_date=args.birth_date_field,
                category=args.category_field,
            ),
            refusing_flags=args.refuse_flags,
            categories_allowed=_split(args.allow_categories),
            categories_denied=_split(args.deny_categories),
        )
        config = Sip2Config(
            host=host,
            port=port,
            login_user=args.login,
            login_password=args.password,
            institution=args.institution,
            location=args.location,
            terminal_password=args.terminal_password,
            ssl_context=_ssl_context(args),
            encoding=args.encoding,
            error_detection=not args.no_checksums,
            timeout=args.timeout,
            keepalive=0,
        )
    except (ValueError, OSError) as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    card = apply_card_case(args.card, args.card_case)  # as the gateway sends it
    if (invalid := patron_input_problem(card, args.pin, config.encoding)) is not None:
        # The door refuses the same input the same way, before the LMS is asked.
        print(f"{PROG}: {invalid.code}: {invalid}", file=sys.stderr)
        return 2
    client = Sip2Client(config)
    transport = "TLS" if config.tls else "plain TCP"
    print(
        f"LMS {host}:{port} ({transport}), checksums {'on' if config.error_detection else 'off'}"
        f", encoding {config.encoding}, dialect {policy.dialect.name}"
    )
    try:
        status = await client.connect()
        print(
            "  login (93/94): "
            + (f"accepted for {args.login!r}" if args.login else "skipped (no --login)")
        )
        print(
            f"  status (98): {'online' if status.online else 'OFFLINE'}, protocol "
            f"{status.protocol_version}, institution {status.institution_id!r}, library "
            f"{status.library_name!r}"
        )
        answer = await client.patron_information(card, args.pin)
    except Sip2LoginError as err:
        print(
            f"{PROG}: login refused: {err} (check --login and --password)",
            file=sys.stderr,
        )
        return 1
    except Sip2TimeoutError as err:
        print(f"{PROG}: timeout: {err}", file=sys.stderr)
        return 1
    except Sip2MalformedError as err:
        print(
            f"{PROG}: not a SIP2 answer: {err} (the right port? TLS?)", file=sys.stderr
        )
        return 1
    except Sip2ConnectionError as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except Sip2Error as err:
        print(f"{PROG}: {err}", file=sys.stderr)
        return 1
    except Sip2InputError as err:  # checked above; the client checks again
        print(f"{PROG}: {err.code}: {err}", file=sys.stderr)
        return 2
    finally:
        await client.close()
    today = date.today()
    verdict = evaluate(answer, card, policy, today)
    print("\n".join(_report(verdict, policy, today)))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the probe; return the exit status."""
    args = _parse(argv)
    return asyncio.run(probe(args))


if __name__ == "__main__":
    sys.exit(main())
