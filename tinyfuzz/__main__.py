from tinyfuzz.cli import main

main()
