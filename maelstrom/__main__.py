from maelstrom.cli import main

main()
