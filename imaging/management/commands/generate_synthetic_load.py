"""Insert a synthetic load of records: a thin wrapper around imaging.synthetic."""
import time

from django.core.management.base import BaseCommand, CommandError

from imaging.synthetic import LoadSize, SyntheticLoadRefused, generate_synthetic_load


def positive(value):
    number = int(value)
    if number < 1:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = ("Add synthetic patients (MRN SYN-...), specimens with requisitions and cases in a "
            "synthetic lab, images, results, reviews, sign-offs, doctors' assignments and "
            "audit entries in bulk, for sizing and load tests. Refuses a database with real patients unless --yes is given.")

    def add_arguments(self, parser):
        parser.add_argument("--patients", type=positive, required=True)
        parser.add_argument("--specimens-per-patient", type=positive, default=1)
        parser.add_argument("--images-per-specimen", type=positive, default=20)
        parser.add_argument("--doctors", type=positive, default=10,
                            help="synthetic doctors (syn-doctor-01, ...) the patients are shared among")
        parser.add_argument("--cytotechnologists", type=int, default=4,
                            help="synthetic screeners (syn-ct-01, ...) in the synthetic lab")
        parser.add_argument("--seed", type=int, default=0)
        parser.add_argument("--batch-size", type=positive, default=200,
                            help="patients inserted per transaction")
        parser.add_argument("--password", default=None,
                            help="password of the synthetic users when first created "
                                 "(default: they cannot log in with a password)")
        parser.add_argument("--yes", action="store_true",
                            help="add the synthetic load even though real patients exist")

    def handle(self, *args, **options):
        size = LoadSize(
            patients=options["patients"], specimens_per_patient=options["specimens_per_patient"],
            images_per_specimen=options["images_per_specimen"], doctors=options["doctors"],
            cytotechnologists=options["cytotechnologists"],
            seed=options["seed"], batch_size=options["batch_size"],
        )
        started = time.monotonic()
        try:
            counts = generate_synthetic_load(size, confirmed=options["yes"],
                                             password=options["password"],
                                             progress=self.stdout.write)
        except SyntheticLoadRefused as refusal:
            raise CommandError(str(refusal)) from None
        elapsed = time.monotonic() - started
        rows = sum(counts.values())
        for label, count in sorted(counts.items()):
            self.stdout.write(f"  {label}: {count}")
        self.stdout.write(self.style.SUCCESS(
            f"{rows} rows in {elapsed:.1f} s ({rows / elapsed:.0f} rows/s)."))
