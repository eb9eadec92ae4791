"""`manage.py demo`: the whole of Pantry on one machine, from one command.

Starts (or reuses, under a lease: portal/embedded.py) the embedded PostgreSQL
and Redis when no URLs are given,
the AWS sandbox when no AWS_ENDPOINT_URL is given, migrates, seeds a demo
organisation, then runs the web server, a Celery worker and Celery beat,
queues the first sync and prints where to log in. Ctrl-C stops every process
it started. `--check` does all of that, waits for the first sync, fetches
/healthz and the catalog page as a demo user, and stops: CI's smoke test of
the README's first command.
"""

from __future__ import annotations

import http.cookiejar
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

from celery import signature
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from catalog.models import AwsAccount, FeatureGroup, SyncRun
from catalog.services.sync import sync_request
from portal import demo, embedded

BASE_DIR = Path(settings.BASE_DIR)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for_http(url: str, *, timeout: float, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise CommandError(f"{proc.args[0]} exited with code {proc.returncode} while starting")
        try:
            urllib.request.urlopen(url, timeout=2)  # noqa: S310 - loopback URL we built
            return
        except urllib.error.HTTPError:
            return  # it answered
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            time.sleep(0.2)
    raise CommandError(f"nothing answered at {url} after {timeout:.0f} s")


# A crashed web, worker, beat or IdP process is started again at most this often.
RESTART_LIMIT = 5
RESTART_WINDOW = 600  # seconds


class Command(BaseCommand):
    help = "Run Pantry with embedded services, the AWS sandbox, a worker and beat (Ctrl-C stops everything)."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
        parser.add_argument("--check", action="store_true", help="Boot, sync, fetch pages, stop (smoke test).")
        parser.add_argument("--sync-timeout", type=float, default=180.0)

    def handle(self, *args, port: int, check: bool, sync_timeout: float, **options) -> None:
        self.data_dir: Path = settings.PANTRY_DATA_DIR
        self.log_dir = self.data_dir / "logs"
        self.log_dir.mkdir(parents=True, exist_ok=True)
        self.children: list[tuple[str, subprocess.Popen]] = []
        self.commands: dict[str, tuple[list[str], dict]] = {}
        self.restarts: dict[str, list[float]] = {}
        self.embedded: embedded.EmbeddedServices | None = None
        self.idp_issuer: str | None = None
        self.stopping = False
        previous = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        try:
            self._start(port=port)
            self._queue_first_sync()
            base = f"http://127.0.0.1:{port}"
            self._announce(base)
            if check:
                self._check(base, sync_timeout=sync_timeout)
                self.stdout.write(self.style.SUCCESS("demo --check: every service started, synced and served pages."))
                return
            self._wait_for_first_sync(timeout=sync_timeout, quiet=False)
            self._supervise()
        finally:
            self._stop_all()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    # -- starting ------------------------------------------------------------

    def _start(self, *, port: int) -> None:
        env = os.environ.copy()
        env.setdefault("PANTRY_ENV", "development")
        env.setdefault("DEBUG", "true")
        if settings.PANTRY_EMBEDDED_DATABASE or settings.PANTRY_EMBEDDED_BROKER:
            self.embedded = embedded.services_start(
                self.data_dir, database=settings.PANTRY_EMBEDDED_DATABASE, broker=settings.PANTRY_EMBEDDED_BROKER
            )
        if settings.PANTRY_EMBEDDED_DATABASE:
            self.stdout.write(f"• embedded PostgreSQL under {self.data_dir / 'postgres'}")
        if settings.PANTRY_EMBEDDED_BROKER:
            self.stdout.write(f"• embedded Redis on {embedded.redis_socket(self.data_dir)}")
        env["DATABASE_URL"] = settings.DATABASE_URL
        env["CELERY_BROKER_URL"] = settings.CELERY_BROKER_URL

        self.sandbox_started = not env.get("AWS_ENDPOINT_URL")
        if self.sandbox_started:
            sandbox_port = _free_port()
            endpoint = f"http://127.0.0.1:{sandbox_port}"
            proc = self._spawn(
                "sandbox",
                [sys.executable, "-m", "sandbox", "serve", "--host", "127.0.0.1", "--port", str(sandbox_port)],
                env,
            )
            _wait_for_http(endpoint + "/moto-api/", timeout=30, proc=proc)
            env["AWS_ENDPOINT_URL"] = endpoint
            # The sandbox accepts any static credentials for Pantry's own identity.
            env.setdefault("AWS_ACCESS_KEY_ID", "pantry-demo")
            env.setdefault("AWS_SECRET_ACCESS_KEY", "pantry-demo")
            env.setdefault("AWS_DEFAULT_REGION", settings.AWS_DEFAULT_REGION)
            # Pantry's identity in the sandbox: moto's default account, which the seeded roles trust;
            # account pages show it in the trust policy (docs/aws-setup.md).
            env.setdefault("PANTRY_AWS_PRINCIPAL_ARN", "arn:aws:iam::123456789012:root")
            os.environ.update(
                {
                    k: env[k]
                    for k in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")
                }
            )
            self.stdout.write(f"• AWS sandbox at {endpoint}")
            self._seed_sandbox(endpoint, env)
        self.idp_issuer = self._start_idp(env)
        self.env = env

        call_command("migrate", interactive=False, verbosity=0)
        self.stdout.write("• database migrated")
        if self.sandbox_started:
            self._forget_previous_sandbox()
        manifest = self._manifest()
        if manifest:
            counts = demo.demo_organisation_load(manifest=manifest)
            self.stdout.write(f"• demo organisation: {counts['accounts']} accounts, {counts['users']} people")
            from usage.demo import demo_trail_sources_load

            sources = demo_trail_sources_load(manifest=manifest)
            self.stdout.write(f"• CloudTrail: {sources} trail source(s); beat lists and ingests them every 30 s")

        web = self._spawn(
            "web", [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"], env
        )
        self._spawn(
            "worker",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "worker",
                "-l",
                "info",
                "-c",
                "2",
                "--without-gossip",
                "--without-mingle",
                "-n",
                "pantry-demo@%h",
            ],
            env,
        )
        self._spawn(
            "beat",
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "portal",
                "beat",
                "-l",
                "info",
                "-s",
                str(self.data_dir / "celerybeat-schedule"),
            ],
            env,
        )
        _wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=60, proc=web)

    def _forget_previous_sandbox(self) -> None:
        """A new sandbox: drop what the demo database and broker kept from the previous one.

        The sandbox is rebuilt on each start, so grants, invitations, shares and
        ledgers from an earlier run name AWS objects that are gone. On the
        embedded database they are reset (and queued tasks about them purged);
        a database of the user's own (DATABASE_URL) is never emptied, only
        warned about.
        """
        if not settings.PANTRY_EMBEDDED_DATABASE:
            if AwsAccount.objects.exists():
                self.stdout.write(
                    self.style.WARNING(
                        "• DATABASE_URL holds data from an earlier run; this sandbox is new, so grants and shares "
                        "recorded there will be reconciled away (empty the database for a clean demo)"
                    )
                )
            return
        if demo.demo_database_reset():
            self.stdout.write(
                "• new sandbox: emptied the demo database the previous run left (it mirrored the old one)"
            )
        if settings.PANTRY_EMBEDDED_BROKER:
            from portal.celery import app

            purged = app.control.purge()
            if purged:
                self.stdout.write(f"• dropped {purged} queued task(s) of the previous run")

    def _start_idp(self, env: dict) -> str | None:
        """A demo identity provider (oidc-provider-mock, its own process), unless OIDC is configured already.

        It knows the directory people of `portal.demo` (one click each on its
        authorization page) and their groups, which the demo role mappings
        turn into memberships at sign-in.
        """
        if env.get("OIDC_ISSUER") or importlib.util.find_spec("oidc_provider_mock") is None:
            return None
        port = _free_port()
        issuer = f"http://127.0.0.1:{port}"
        cmd = [sys.executable, "-m", "oidc_provider_mock", "--host", "127.0.0.1", "--port", str(port)]
        for person in demo.DIRECTORY_PEOPLE:
            cmd += ["--user-claims", json.dumps(person.claims())]
        proc = self._spawn("idp", cmd, {**env, "NO_COLOR": "1"})
        _wait_for_http(issuer + "/.well-known/openid-configuration", timeout=30, proc=proc)
        env.update(
            {
                "OIDC_ISSUER": issuer,
                "OIDC_CLIENT_ID": "pantry-demo",
                "OIDC_CLIENT_SECRET": "pantry-demo-secret",
                "OIDC_PROVIDER_NAME": "Demo IdP",
            }
        )
        self.stdout.write(f"• demo identity provider (OIDC) at {issuer}")
        return issuer

    def _seed_sandbox(self, endpoint: str, env: dict) -> None:
        manifest_path = self.data_dir / "sandbox-manifest.json"
        self.stdout.write(
            "• seeding the sandbox organisation (feature groups, roles, lineage, RAM shares, 60 days of CloudTrail)…"
        )
        result = subprocess.run(
            [sys.executable, "-m", "sandbox", "seed", "--endpoint", endpoint, "--manifest", str(manifest_path)],
            cwd=BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        if result.returncode != 0:
            raise CommandError(f"seeding the sandbox failed:\n{result.stderr[-4000:]}")

    def _manifest(self) -> dict | None:
        path = self.data_dir / "sandbox-manifest.json"
        return json.loads(path.read_text()) if path.exists() else None

    def _spawn(self, name: str, cmd: list[str], env: dict) -> subprocess.Popen:
        log = open(self.log_dir / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        # A session of its own: Ctrl-C reaches only this command, which then
        # stops the children in order instead of all at once.
        proc = subprocess.Popen(
            cmd, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.children = [(n, p) for n, p in self.children if n != name] + [(name, proc)]
        self.commands[name] = (cmd, env)
        return proc

    def _queue_first_sync(self) -> None:
        for account in AwsAccount.objects.exclude(kind=AwsAccount.Kind.CONSUMER):
            sync_request(account=account, trigger=SyncRun.Trigger.MANUAL)
        # CloudTrail: list the trail sources now rather than at beat's first tick.
        signature("usage.tasks.trail_sources_list").delay()

    def _announce(self, base: str) -> None:
        w = self.stdout.write
        w("")
        w(self.style.SUCCESS(f"Pantry is running at {base}/"))
        w(f"  API docs: {base}/api/docs/   health: {base}/healthz   logs: {self.log_dir}")
        w(f"  Demo logins (password '{demo.DEMO_PASSWORD}'):")
        for persona in demo.PERSONAS:
            w(f"    {persona.username:<6} {persona.description}")
        w("  Sharing walk-through: dana's request for customer_value_scores waits in omar's inbox; omar approves;")
        w("  carla accepts the RAM invitation (fraud-research is outside the organisation); dana reads; omar revokes.")
        if self.idp_issuer:
            w(f"  Or 'Sign in with Demo IdP' ({self.idp_issuer}) and pick a directory person:")
            for person in demo.DIRECTORY_PEOPLE:
                w(f"    {person.sub:<6} {person.description}; groups: {', '.join(person.groups)}")
        w("  Press Ctrl-C to stop every process.")
        w("")

    # -- running -------------------------------------------------------------

    def _wait_for_first_sync(self, *, timeout: float, quiet: bool) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not self.stopping:
            pending = SyncRun.objects.filter(status__in=[SyncRun.Status.QUEUED, SyncRun.Status.RUNNING]).count()
            if pending == 0:
                break
            self._check_children()
            time.sleep(0.5)
        else:
            if not self.stopping:
                raise CommandError(
                    f"the first sync did not finish within {timeout:.0f} s; see {self.log_dir}/worker.log"
                )
        if self.stopping:
            return
        manifest = self._manifest()
        if manifest:
            demo.demo_access_grants_load(manifest=manifest)
            demo.demo_descriptions_load(manifest=manifest)
        from usage.services import usage_groups_link

        usage_groups_link()  # usage ingested before the sync named groups the catalog now has
        failed = SyncRun.objects.filter(status=SyncRun.Status.FAILED).count()
        groups = FeatureGroup.objects.live().count()
        message = f"First sync finished: {groups} feature groups in the catalog"
        if failed:
            message += f", {failed} failed run(s) (see /sync-runs/)"
        self.stdout.write(self.style.SUCCESS(message) if not failed else self.style.WARNING(message))

    def _supervise(self) -> None:
        while not self.stopping:
            self._check_children()
            time.sleep(0.5)

    def _check_children(self) -> None:
        """Restart a web, worker, beat or IdP process that died; stop everything when that keeps failing.

        The sandbox cannot come back (its AWS organisation lives in its memory),
        so its exit stops the demo. Any other process is started again, up to
        RESTART_LIMIT times within RESTART_WINDOW seconds, as a supervisor would.
        """
        for name, proc in list(self.children):
            if proc.poll() is None or self.stopping:
                continue
            log = self.log_dir / (name + ".log")
            if name == "sandbox":
                raise CommandError(f"the AWS sandbox exited with code {proc.returncode}; see {log}")
            now = time.monotonic()
            recent = [t for t in self.restarts.get(name, []) if now - t < RESTART_WINDOW]
            if len(recent) >= RESTART_LIMIT:
                raise CommandError(
                    f"{name} exited with code {proc.returncode} {len(recent) + 1} times within "
                    f"{RESTART_WINDOW // 60} minutes; see {log}"
                )
            self.restarts[name] = [*recent, now]
            self.stdout.write(
                self.style.WARNING(f"• {name} exited with code {proc.returncode}; starting it again (log: {log})")
            )
            cmd, env = self.commands[name]
            self._spawn(name, cmd, env)

    def _on_signal(self, signum, frame) -> None:
        if not self.stopping:
            self.stdout.write("\nStopping Pantry…")
        self.stopping = True

    # -- checking ------------------------------------------------------------

    def _check(self, base: str, *, sync_timeout: float) -> None:
        self._wait_for_first_sync(timeout=sync_timeout, quiet=True)
        if SyncRun.objects.filter(status=SyncRun.Status.FAILED).exists():
            raise CommandError("demo --check: a sync run failed")
        health = json.loads(urllib.request.urlopen(base + "/healthz", timeout=10).read())  # noqa: S310
        if health.get("status") != "ok":
            raise CommandError(f"demo --check: /healthz says {health}")
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        opener.open(base + "/accounts/login/", timeout=10).read()
        csrf = next(c.value for c in jar if c.name == "csrftoken")
        form = urllib.parse.urlencode(
            {"username": demo.PERSONAS[0].username, "password": demo.DEMO_PASSWORD, "csrfmiddlewaretoken": csrf}
        ).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback URL we built
            base + "/accounts/login/", data=form, headers={"Referer": base + "/accounts/login/"}
        )
        opener.open(request, timeout=10).read()
        html = opener.open(base + "/catalog/", timeout=30).read().decode()
        visible = FeatureGroup.objects.live().count()
        if visible == 0:
            raise CommandError("demo --check: the catalog is empty after the first sync")
        sample = FeatureGroup.objects.live().order_by("name").values_list("name", flat=True)
        if not any(name in html for name in sample):
            raise CommandError("demo --check: the catalog page shows none of the synced feature groups")
        self.stdout.write(f"• /healthz ok, /catalog/ shows synced groups ({visible} in the catalog)")
        described = FeatureGroup.objects.live().exclude(pantry_description="").count()
        seeded = (self._manifest() or {}).get("feature_groups", [])
        if not described and any(fg.get("pantry_description") for fg in seeded):
            raise CommandError("demo --check: no feature group has the Pantry description the seed wrote for it")
        self.stdout.write(f"• {described} feature groups have their team's notes as Pantry descriptions")
        self._check_sharing()
        if self.idp_issuer:
            self._check_idp_sign_in(base)
        self._check_usage(timeout=sync_timeout * 2)

    def _check_usage(self, *, timeout: float) -> None:
        """The seeded CloudTrail history is ingested: every listed file done, 60 days of usage."""
        from usage.models import TrailFile, TrailSource, UsageDaily
        from usage.services import usage_groups_link

        if not TrailSource.objects.exists():
            return
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._check_children()
            listed = TrailSource.objects.filter(last_listed_at__isnull=False).count()
            waiting = TrailFile.objects.filter(state__in=[TrailFile.State.PENDING, TrailFile.State.CLAIMED]).count()
            if listed == TrailSource.objects.count() and waiting == 0 and TrailFile.objects.exists():
                break
            time.sleep(1)
        else:
            raise CommandError(
                f"demo --check: CloudTrail ingestion did not finish within {timeout:.0f} s; see {self.log_dir}/worker.log"
            )
        errors = list(TrailSource.objects.exclude(last_error="").values_list("name", "last_error"))
        if errors:
            raise CommandError(f"demo --check: trail source errors: {errors}")
        usage_groups_link()
        days = UsageDaily.objects.filter(feature_group__isnull=False).values("day").distinct().count()
        if days < 55:
            raise CommandError(f"demo --check: usage covers {days} days of the 60-day CloudTrail history")
        calls = sum(UsageDaily.objects.values_list("calls", flat=True))
        self.stdout.write(f"• CloudTrail ingested: {TrailFile.objects.count()} files, {calls} calls over {days} days")

    def _check_sharing(self) -> None:
        from sharing.models import AccessRequest, Grant, Invitation, Share

        shares = Share.objects.filter(status=Share.Status.ACTIVE).count()
        invitations = Invitation.objects.filter(status=Invitation.Status.PENDING).count()
        requests = AccessRequest.objects.filter(state=AccessRequest.State.PENDING).count()
        if not shares or not Grant.objects.live().exclude(resource_share_arn="").exists():
            raise CommandError("demo --check: no RAM shares were mirrored from the sandbox")
        if not invitations:
            raise CommandError("demo --check: the seeded RAM invitation for fraud-research is not in Pantry")
        if not requests:
            raise CommandError("demo --check: the demo's pending access request is missing")
        self.stdout.write(
            f"• sharing mirrored from RAM: {shares} shares, {invitations} pending invitation(s), "
            f"{requests} pending request(s)"
        )

    def _check_idp_sign_in(self, base: str) -> None:
        """Sign in through the demo IdP as its first directory person; their groups must give memberships."""
        from catalog.models import Membership

        person = demo.DIRECTORY_PEOPLE[0]
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        authorize = opener.open(base + "/oidc/authenticate/", timeout=10)  # redirected to the IdP's page
        if not authorize.url.startswith(self.idp_issuer):
            raise CommandError(f"demo --check: 'Sign in with Demo IdP' led to {authorize.url}")
        form = urllib.parse.urlencode({"sub": person.sub}).encode()
        # Authorize → the IdP redirects to Pantry's callback → Pantry signs the person in and goes home.
        home = opener.open(urllib.request.Request(authorize.url, data=form), timeout=30)  # noqa: S310
        html = home.read().decode()
        if person.given_name not in html:
            raise CommandError("demo --check: signing in through the demo IdP did not reach the home page")
        if not Membership.objects.filter(user__oidc_identity__subject=person.sub, source="directory").exists():
            raise CommandError("demo --check: the demo IdP's groups gave no memberships")
        self.stdout.write(f"• signed in through the demo IdP as {person.sub}; memberships follow the groups claim")

    # -- stopping ------------------------------------------------------------

    def _stop_all(self) -> None:
        self.stopping = True
        # Web first (no new work), then beat, then the worker (warm shutdown
        # finishes the task in hand), then the sandbox and the stores.
        order = {"web": 0, "beat": 1, "worker": 2, "sandbox": 3, "idp": 3}
        for _name, proc in sorted(self.children, key=lambda item: order.get(item[0], 9)):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        if self.embedded is not None:
            # Stops the embedded servers unless another process (a test run) still holds a lease.
            self.embedded.release()
        if self.children:
            self.stdout.write("Stopped.")
