using AsymCdc.Cli;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(AsymCdcCommandLine.Configure);
return await app.RunAsync(AsymCdcCommandLine.Normalize(args));
