"""The instructor's command line, for `oc exec` (the same operations as the /admin page).

    oc exec -n workshop-registration deploy/workshop-registration -- python -m app list
    python -m app export > users.csv            # users.csv on stdout
    python -m app status | open | close
    python -m app seats create --count 40 [--prefix user] [--start 1] > seats.csv   # passwords, once
    python -m app seats release user7 user8 | --from 10.1.2.3   # give claimed seats back, new passwords
    python -m app reset USERNAME                # prints the new password, once
    python -m app remove USERNAME
    python -m app unblock USERNAME...           # a removed name, once its User and Identity are deleted
    python -m app end [--yes]                   # end the event now: logins stop, records stay (dry run first)
    python -m app attendance > attendance.csv   # who registered, could log in, logged in; when it ended
    python -m app cleanup [--yes]               # the teardown: every attendee of this app (dry run first)
    python -m app identities | sh               # (as a cluster admin) after switching IDENTITY_PROVIDER_TYPE

Output goes to stdout; log lines to stderr. When the app's account may not delete an attendee's
OpenShift User and Identity, `remove` and `cleanup` print the `oc delete` commands to run as a cluster
admin instead (pipe them into `sh` on your machine).
"""

from __future__ import annotations

import argparse
import sys

from app import activation, logs, roster, seats
from app.admin import AdminService, EventOver, NotRegistered, NotYetWritten, SeatsRefused
from app.errors import SettingsError, StoreError
from app.handover import make_handover
from app.runtime import Runtime
from app.settings import Settings
from app.store import make_store


def main(argv: list[str] | None = None, settings: Settings | None = None) -> int:
    """Run one instructor command; the exit status is 0 on success, 1 on a refusal, 2 on a usage error."""
    parser = argparse.ArgumentParser(prog="python -m app", description="Workshop registration: instructor tools")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="registered attendees and their login state, as a table").add_argument(
        "--state", choices=activation.STATES, help="only the attendees whose login is in this state")
    commands.add_parser("export", help="users.csv on stdout")
    commands.add_parser("status", help="open or closed, and how many registered")
    commands.add_parser("open", help="open registration")
    commands.add_parser("close", help="close registration")
    seat_commands = commands.add_parser("seats", help="seats: accounts made ahead, claimed by attendees (SEATS=true)")
    seat_actions = seat_commands.add_subparsers(dest="seats_command", required=True)
    create = seat_actions.add_parser(
        "create", help="make seats; prints username,password as CSV, once (the passwords are not stored)")
    release = seat_actions.add_parser("release", help="give claimed seats back, with new passwords (one address "
                                                       "that claimed many: see status)")
    release.add_argument("usernames", nargs="*", help="the seats")
    release.add_argument("--from", dest="client", help="every seat claimed from this address")
    create.add_argument("--count", type=int, required=True, help="how many seats")
    create.add_argument("--prefix", default="user", help="username prefix (default: user)")
    create.add_argument("--start", type=int, default=1, help="first number (default: 1)")
    commands.add_parser("reset", help="give an attendee a new password (printed once)").add_argument("username")
    commands.add_parser("remove", help="remove an attendee").add_argument("username")
    commands.add_parser("projects", help="make every written attendee's project (PROJECT_TEMPLATE), again")
    commands.add_parser("unblock", help="let removed names be registered again, once their OpenShift User and "
                        "Identity are gone (you ran the oc delete commands remove printed)").add_argument(
        "usernames", nargs="+")
    commands.add_parser("identities", help="the oc delete commands for every attendee's User and Identity, "
                        "attendees kept (after switching IDENTITY_PROVIDER_TYPE; run them as a cluster admin)")
    commands.add_parser("end", help="end the event now: every attendee's login stops working, the records stay "
                        "(without --yes: what it would do)").add_argument("--yes", action="store_true",
                                                                          help="really do it")
    commands.add_parser("attendance", help="the attendance as CSV on stdout (keep it after the event)")
    commands.add_parser("cleanup", help="the teardown: remove every attendee of this app, their Users, Identities, "
                        "tokens and projects (without --yes: what it would do)").add_argument(
        "--yes", action="store_true", help="really do it")
    args = parser.parse_args(argv)

    try:
        settings = settings or Settings.from_env()
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    logs.configure(settings.log_level, stream=sys.stderr)
    store = make_store(settings)
    # A command that ends starts no background work: its runtime is never started; it writes logins and
    # makes projects itself, before it exits (seats create).
    service = AdminService(store, make_handover(store, Runtime(), provision=False))
    try:
        return _run(service, args)
    except NotRegistered as error:
        print(f"no attendee named {error.args[0]!r} registered through this app", file=sys.stderr)
        return 1
    except SeatsRefused as error:
        print(f"no seats made: {error}", file=sys.stderr)
        return 1
    except EventOver as error:
        print(f"nothing changed: {error}", file=sys.stderr)
        return 1
    except NotYetWritten as error:
        print(f"{error.args[0]}'s login is not written yet; reset it once it is (see: python -m app status)",
              file=sys.stderr)
        return 1
    except StoreError as error:
        print(f"failed: {error.cause}", file=sys.stderr)
        return 1


def _run(service: AdminService, args) -> int:
    if args.command == "list":
        found = service.attendees(args.state)
        seen = service.store.state.logins_seen()
        with_seats = any(r.seat for r, _ in found)  # the SEAT column only when there are seats
        rows = [("USERNAME", "FULL NAME", "EMAIL", "REGISTERED AT", "LOGIN") + (("SEAT",) if with_seats else ())
                + (("LAST LOGGED IN",) if seen else ())] + [
            (r.username, r.full_name, r.email, r.registered_at.strftime("%Y-%m-%dT%H:%M:%SZ"), state)
            + ((("unclaimed" if r.unclaimed else "claimed") if r.seat else "",) if with_seats else ())
            + ((roster.format_epoch(seen[r.username][1]) if r.username in seen else "",) if seen else ())
            for r, state in found]
        if not found:
            print(f"no attendee{' whose login is ' + args.state if args.state else ''}", file=sys.stderr)
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    elif args.command == "export":
        sys.stdout.write(service.export_csv())
    elif args.command == "status":
        overview = service.overview()
        limit = f" of {overview.max_users}" if overview.max_users else ""
        state = "open" if overview.registration_open else "closed"
        print(f"registration {state}; {len(overview.attendees)}{limit} registered")
        if overview.ended_at:
            print(f"the event ended at {roster.format_time(overview.ended_at)}: logins ended, records kept")
        if overview.seats:
            claimed = sum(1 for seat in overview.seats if not seat.unclaimed)
            print(f"seats: {claimed} of {len(overview.seats)} claimed")
        print("logins: " + ", ".join(f"{n} {s}" for s, n in activation.counts(overview.attendee_logins()).items()
                                     if n or s != activation.ENDED))
        if overview.logged_in:
            names = {r.username for r in overview.attendees}
            print(f"logged in to OpenShift: {sum(1 for n in overview.logged_in if n in names)} of {len(names)}")
        for line in overview.publishing.lines():
            print(line)
        retired = service.store.state.retired()
        if retired:
            print(f"removed names refused until their User and Identity are gone: {', '.join(sorted(retired))} "
                  "(python -m app unblock NAME once they are)")
        for burst in overview.claim_bursts:
            print(f"seats claimed fast: {burst.client} claimed {burst.most} within a minute "
                  f"({', '.join(burst.usernames)}); if that is not a room behind one network: "
                  f"python -m app seats release --from {burst.client}")
        for username, seen in sorted(overview.refused.items()):
            print(f"refused by OpenShift: {username} (the name belongs to another identity; seen {seen}): "
                  "remove them and let them register another name")
    elif args.command in ("open", "close"):
        service.set_open(args.command == "open")
        print(f"registration {'open' if args.command == 'open' else 'closed'}")
    elif args.command == "seats" and args.seats_command == "release":
        overview = service.overview()
        names = list(args.usernames) + [r.username for r in overview.seats
                                        if args.client and r.claimed_from == args.client and not r.unclaimed]
        if not names:
            print("name the seats, or --from an address (python -m app status shows them)", file=sys.stderr)
            return 2
        released = service.release_seats(names)
        print(f"released {len(released)} seats: {', '.join(released) or 'none (not claimed)'}; each has a new "
              "password, shown to whoever claims it next", file=sys.stderr)
    elif args.command == "seats":
        made = service.create_seats(args.count, args.prefix, args.start)
        sys.stdout.write(seats.csv_text(made))
        sys.stdout.flush()
        service.handover.publish()  # write them now if the OAuth server can take it; else a replica will
        if service.store.projects.enabled:  # their projects too, before this process ends (idempotent)
            for name, outcome in service.ensure_projects().items():
                print(f"{service.store.projects.name_for(name)}: {outcome}", file=sys.stderr)
        print(f"made {len(made)} seats ({made[0][0]} to {made[-1][0]}); their passwords are printed above only. "
              "Their logins go out together with the next write (python -m app status says when).", file=sys.stderr)
        if not service.settings.seats:
            print("SEATS is off: attendees cannot claim these on the page; hand out the printed list, or set "
                  "SEATS=true (openshift/app/settings.yaml).", file=sys.stderr)
    elif args.command == "reset":
        password = service.reset_password(args.username)
        print(f"new password for {args.username}: {password}")
    elif args.command == "remove":
        _report([service.remove(args.username)])
    elif args.command == "projects":
        if not service.store.projects.enabled:
            print("PROJECT_TEMPLATE is not set: no projects (see openshift/extras/projects)", file=sys.stderr)
            return 2
        outcomes = service.ensure_projects()
        for name, outcome in outcomes.items():
            print(f"{service.store.projects.name_for(name)}: {outcome}", file=sys.stderr)
            if outcome == "denied":
                print(" && ".join(service.store.projects.commands(name)))  # stdout: for a cluster admin
            elif outcome == "foreign":  # someone requested it first (self-provisioner): the app never touches it
                print(f"  someone else's project: a cluster admin checks it, deletes it (oc delete project "
                      f"{service.store.projects.name_for(name)}), and runs projects again", file=sys.stderr)
    elif args.command == "unblock":
        retired = service.store.state.retired()
        service.store.state.unretire(set(args.usernames))
        for name in args.usernames:
            print(f"{name}: {'free again' if name in retired else 'was not blocked'}", file=sys.stderr)
    elif args.command == "identities":
        for command in service.identity_commands():
            print(command)  # stdout: for a cluster admin to run
    elif args.command == "end":
        sentences, commands = service.end_event(really=args.yes)
        print(("the event has ended:" if args.yes else "end would:") + "\n  " + "\n  ".join(sentences), file=sys.stderr)
        for command in commands if args.yes else ():  # after the end only: the logins no longer work then
            print(command)  # stdout: for a cluster admin to run
        if not args.yes:
            print("add --yes to end the event now (it cannot be undone)", file=sys.stderr)
            return 2
    elif args.command == "attendance":
        sys.stdout.write(service.attendance_csv())
    elif args.command == "cleanup":
        if not args.yes:
            print("cleanup would:\n  " + "\n  ".join(service.cleanup_plan()) + "\nadd --yes to do it", file=sys.stderr)
            return 2
        _report(service.cleanup())
        print(f"then, as a cluster admin: {TEARDOWN}", file=sys.stderr)
    return 0


TEARDOWN = "sh openshift/setup.sh --remove && oc delete -k openshift/"


def _report(removals) -> None:
    for removal in removals:
        done = [f"removed {removal.username}: login and record"]
        checked = [("project", removal.project_deleted)]
        if not any(command.startswith("oc delete user") for command in removal.commands):  # else: printed below
            checked = [("User", removal.user_deleted), ("Identity", removal.identity_deleted)] + checked
        for kind, deleted in checked:
            if deleted is not None:
                done.append(f"{kind} {'deleted' if deleted else 'not found'}")
        print(", ".join(done), file=sys.stderr)
        for note in removal.notes:
            print(f"  note: {note}", file=sys.stderr)
        for command in removal.commands:
            print(command)  # stdout: for a cluster admin to run (oc exec ... | sh)


if __name__ == "__main__":
    sys.exit(main())
