from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser

from inference import cli, services


class Command(cli.ProjectCommand):
    help = "Make a version the project's default (publish or roll back), recorded with a note."

    def add_arguments(self, parser: CommandParser) -> None:
        cli.add_project_arguments(parser)
        parser.add_argument("--note", required=True, help="why you switch (kept in the history)")
        parser.add_argument("--as-user", help="record this user as the one switching")

    def handle(self, *args, **options) -> None:
        project = cli.resolve_project(options["project"], options["owner"])
        if not options["version"]:
            raise CommandError("Name the version: --version N or --version latest.")
        version = cli.resolve_version(project, options["version"])
        user = project.owner
        if options["as_user"]:
            user = User.objects.filter(username=options["as_user"]).first()
            if user is None:
                raise CommandError(f"No user {options['as_user']!r}.")
        try:
            switch = services.model_version_set_default(
                version=version, user=user, note=options["note"], via="command"
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from None
        before = f"v{switch.from_number}" if switch.from_number else "no default"
        self.stdout.write(f"{project.name}: {before} -> {version.name} is now the default.")
