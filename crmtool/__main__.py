from crmtool.cli import main

main()
