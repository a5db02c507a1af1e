using System.ComponentModel;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference;
using AsymCdc.Inference.Data;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc predict --image N [--model NAME]</c>: one test item of a served model through an in-process cluster.</summary>
public sealed class PredictCommand : AsyncCommand<PredictCommand.Settings>
{
    public static readonly string[] ClassNames =
        ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"];

    public sealed class Settings : CommandSettings
    {
        [CommandOption("-i|--image <N>"), Description("Index of the test item (for fmnist: the Fashion-MNIST test image, 0..9999)."), DefaultValue(0)]
        public int Image { get; init; }

        [CommandOption("--model <NAME>"), Description("The served model, with items of its test data (its config.json's dataset)."), DefaultValue("fmnist")]
        public string Model { get; init; } = "fmnist";

        [CommandOption("-m|--mode <MODE>"), Description("Serving mode (default: the cluster's, auto).")]
        public string? Mode { get; init; }

        [CommandOption("-w|--workers <N>"), Description("Worker silos."), DefaultValue(4)]
        public int Workers { get; init; } = 4;

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        public override ValidationResult Validate()
        {
            if (Mode is not null && !ServingModes.TryParse(Mode, out _))
            {
                return ValidationResult.Error($"unknown mode '{Mode}'; expected one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
            }

            return Image < 0 ? ValidationResult.Error("--image must be 0 or more") : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        LabeledSet data;
        try
        {
            (_, data) = ServedData.Resolve(settings.Models, settings.Model);
        }
        catch (Exception e) when (e is ArgumentException or InvalidDataException or IOException or ModelRepositoryException)
        {
            AnsiConsole.MarkupLine($"[red]predict:[/] {Markup.Escape(e.Message)}");
            return 2;
        }

        if (settings.Image >= data.Count)
        {
            AnsiConsole.MarkupLine($"[red]--image {settings.Image} is out of range: {Markup.Escape(data.Name)} has {data.Count} items (0..{data.Count - 1}).[/]");
            return 2;
        }

        await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { Workers = settings.Workers, ModelRepository = settings.Models }, cancellationToken);
        var mode = settings.Mode is null ? (ServingMode?)null : ServingModes.Parse(settings.Mode);
        try
        {
            var input = new Tensor(data.Slice(settings.Image, 1).ToArray(), [.. data.ItemShape]);
            var prediction = await new AsymCdcClient(cluster.Client).PredictAsync(settings.Model, input, mode, cancellationToken: cancellationToken);
            var truth = data.Labels[settings.Image];
            // Fashion-MNIST's classes have names; another data set's are their numbers.
            string Name(int label) => data.Name.StartsWith(TestSets.FashionMnistName, StringComparison.Ordinal) ? ClassNames[label] : $"class {label}";
            AnsiConsole.MarkupLine($"{Markup.Escape(settings.Model)} item {settings.Image}: true [bold]{Name(truth)}[/] ({truth}), predicted [bold]{Name(prediction.Label)}[/] ({prediction.Label}) "
                + $"{(prediction.Label == truth ? "[green]correct[/]" : "[red]wrong[/]")}");
            AnsiConsole.MarkupLine($"mode {prediction.Mode.ToName()}, served by {prediction.ServedBy.ToName()}, worker {Markup.Escape(prediction.Worker ?? "-")}, {prediction.LatencyMs:0.0} ms");
            return 0;
        }
        catch (PredictionException e)
        {
            AnsiConsole.MarkupLine($"[red]{e.Code}: {Markup.Escape(e.Message)}[/]");
            return 1;
        }
    }
}
