import AllocTraceCommands

AllocTraceCommand.main()
