using AsymCdc.Cli;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("asymcdc");
    config.AddCommand<DemoCommand>("demo")
        .WithDescription("Start an in-process cluster, send Fashion-MNIST queries with injected stragglers, and compare modes (p50/p99/p99.9, lost, reconstructed, accuracy).")
        .WithExample("demo")
        .WithExample("demo", "--mode", "none,asymcdc-compact", "--k", "3", "--straggler-rate", "0.01", "--json", "demo.json");
    config.AddCommand<PredictCommand>("predict")
        .WithDescription("Send one test image through an in-process cluster; print its true label, the prediction and how it was served.")
        .WithExample("predict", "--image", "7", "--mode", "asymcdc-exact");
});
return await app.RunAsync(args);
