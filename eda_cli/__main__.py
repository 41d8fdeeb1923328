import sys

try:
    from eda_cli.app import main
except KeyboardInterrupt:  # Ctrl-C while eda is still starting: nothing was done
    sys.exit(130)

main()
