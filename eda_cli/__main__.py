from eda_cli.app import main

main()
