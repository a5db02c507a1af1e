using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace AsymCdc.Inference.Tests;

public sealed class OptionsAndHostingTests
{
    [Fact]
    public void Defaults_are_valid_and_as_documented()
    {
        var options = new InferenceOptions();

        Assert.True(new InferenceOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal("models", options.ModelRepository);
        Assert.Equal("cpu", options.ExecutionProvider);
        Assert.Equal(1, options.IntraOpThreads);
        Assert.Equal(64, options.MaxBatchSize);
        Assert.Equal(200, options.BatchWindowMicroseconds);
        Assert.Empty(options.ModelNames());
    }

    [Theory]
    [InlineData("cpu", null, null, 2, 1)]
    [InlineData("CUDA", null, null, 1, 0)]
    [InlineData("cuda", 3, 1, 3, 1)]
    [InlineData("cpu", 1, 0, 1, 0)]
    public void Runners_default_to_two_and_a_parity_runner_on_a_cpu_and_one_on_a_gpu_unless_set(
        string provider, int? instances, int? parityInstances, int runners, int parityRunners)
    {
        var options = new InferenceOptions { ExecutionProvider = provider, Instances = instances, ParityInstances = parityInstances };

        Assert.Equal(runners, options.Runners);
        Assert.Equal(parityRunners, options.ParityRunners);
    }

    [Theory]
    [InlineData("cpu", null, false)]
    [InlineData("cuda", null, true)]
    [InlineData("cpu", true, true)]
    [InlineData("cuda", false, false)]
    public void Runners_get_threads_of_their_own_on_a_gpu_and_use_the_pool_on_a_cpu_unless_set(string provider, bool? dedicated, bool expected) =>
        Assert.Equal(expected, new InferenceOptions { ExecutionProvider = provider, DedicatedThreads = dedicated }.UseDedicatedThreads);

    [Fact]
    public void Every_bad_setting_is_one_line_naming_its_key()
    {
        var options = new InferenceOptions
        {
            ModelRepository = " ",
            ExecutionProvider = "rocm",
            DeviceId = -1,
            IntraOpThreads = 0,
            Instances = 0,
            ParityInstances = -1,
            MaxBatchSize = 5000,
            BatchWindowMicroseconds = -5,
            Models = ["fmnist-inn, fmnist-inn"],
        };

        var result = new InferenceOptionsValidator().Validate(null, options);

        Assert.Equal(
        [
            "AsymCdc:Inference:ModelRepository is empty; set it to the models folder (default 'models').",
            "AsymCdc:Inference:ExecutionProvider is 'rocm'; use 'cpu' or 'cuda'.",
            "AsymCdc:Inference:DeviceId is -1; it must be 0 or more.",
            "AsymCdc:Inference:IntraOpThreads is 0; it must be between 1 and 256.",
            "AsymCdc:Inference:Instances is 0; it must be between 1 and 64.",
            "AsymCdc:Inference:ParityInstances is -1; it must be between 0 and 64.",
            "AsymCdc:Inference:MaxBatchSize is 5000; it must be between 1 and 4096.",
            "AsymCdc:Inference:BatchWindowMicroseconds is -5; it must be between 0 and 1000000 (1 s).",
            "AsymCdc:Inference:Models names 'fmnist-inn' twice.",
        ], result.Failures);
    }

    [Fact]
    public async Task A_host_binds_the_section_opens_and_warms_the_repository_at_start()
    {
        using var host = BuildHost(new()
        {
            ["AsymCdc:Inference:ModelRepository"] = TestModels.Directory,
            ["AsymCdc:Inference:Models"] = $"{ModelNames.Classifier},{ModelNames.Inverse}",
            ["AsymCdc:Inference:MaxBatchSize"] = "32",
            ["AsymCdc:Inference:BatchWindowMicroseconds"] = "0",
        }, registrations: 2); // layers may each ask for inference: the second call changes nothing

        await host.StartAsync();

        var options = host.Services.GetRequiredService<IOptions<InferenceOptions>>().Value;
        Assert.Equal(32, options.MaxBatchSize);
        Assert.Equal(0, options.BatchWindowMicroseconds);
        var repository = host.Services.GetRequiredService<ModelRepository>();
        Assert.True(repository.IsWarm);
        Assert.Equal([ModelNames.Classifier, ModelNames.Inverse], repository.Models.Select(m => m.Name));
        Assert.All(repository.GetStats(), s => Assert.Equal(1, s.Runs)); // the warm-up run
        await host.StopAsync();
    }

    [Fact]
    public async Task A_host_with_a_bad_setting_does_not_start()
    {
        using var host = BuildHost(new() { ["AsymCdc:Inference:ExecutionProvider"] = "tpu" });

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync());

        Assert.Contains("AsymCdc:Inference:ExecutionProvider is 'tpu'; use 'cpu' or 'cuda'.", error.Failures);
    }

    [Fact]
    public async Task A_host_asking_for_a_missing_model_does_not_start()
    {
        using var host = BuildHost(new()
        {
            ["AsymCdc:Inference:ModelRepository"] = TestModels.Directory,
            ["AsymCdc:Inference:Models:0"] = "fmnist-missing",
        });

        var error = await Assert.ThrowsAsync<ModelRepositoryException>(() => host.StartAsync());

        Assert.Contains("Model 'fmnist-missing' is not in the model repository", error.Message);
    }

    private static IHost BuildHost(Dictionary<string, string?> settings, int registrations = 1)
    {
        var builder = Host.CreateEmptyApplicationBuilder(new HostApplicationBuilderSettings());
        builder.Configuration.AddInMemoryCollection(settings);
        for (var i = 0; i < registrations; i++)
        {
            builder.Services.AddAsymCdcInference(builder.Configuration);
        }

        return builder.Build();
    }
}
