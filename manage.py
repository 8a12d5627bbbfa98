#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "celinsight.settings")
    from django.core.management import execute_from_command_line

    from celinsight.local_files import prepare_var_dir

    # Commands write under var/ (the SQLite database, the demo's secret key): it is made
    # here, before the settings are read, as importing them creates nothing.
    prepare_var_dir()
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
