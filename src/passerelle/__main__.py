from passerelle.cli.main import main

main()
