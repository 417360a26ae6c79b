from counterwatch.cli import main

main()
