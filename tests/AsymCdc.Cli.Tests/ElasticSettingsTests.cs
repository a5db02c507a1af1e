using AsymCdc.Cli.Cluster;

namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc elastic</c>'s options become the drill's: which CPU limit emulates a worker's capacity.</summary>
public sealed class ElasticSettingsTests
{
    [Fact]
    public void By_default_the_runner_threads_are_limited_at_the_rates_measured_for_them()
    {
        var drill = ElasticCommand.ToOptions(new ElasticCommand.Settings());
        var cluster = drill.ClusterOptions();

        Assert.Equal((0.04, 50, 150), (drill.WorkerCpu, drill.Rate, drill.OverloadRate));
        Assert.Equal(WorkerCpuScope.Runners, cluster.WorkerCpuScope);
        Assert.Equal("true", ProcessCluster.SiloEnvironment(cluster, "/models", [])["AsymCdc__Inference__DedicatedThreads"]);
    }

    [Fact]
    public void The_whole_process_scope_has_its_own_defaults_and_given_values_win()
    {
        var process = ElasticCommand.ToOptions(new ElasticCommand.Settings { WorkerCpuScope = WorkerCpuScope.Process });
        var given = ElasticCommand.ToOptions(new ElasticCommand.Settings { WorkerCpuScope = WorkerCpuScope.Process, WorkerCpu = 0.2, Rate = 80, OverloadRate = 400 });

        Assert.Equal((0.1, 100, 350), (process.WorkerCpu, process.Rate, process.OverloadRate));
        Assert.Equal(WorkerCpuScope.Process, process.ClusterOptions().WorkerCpuScope);
        Assert.DoesNotContain("AsymCdc__Inference__DedicatedThreads", ProcessCluster.SiloEnvironment(process.ClusterOptions(), "/models", []).Keys);
        Assert.Equal((0.2, 80, 400), (given.WorkerCpu, given.Rate, given.OverloadRate));
    }

    [Fact]
    public void An_overload_at_or_below_the_steady_rate_is_refused_whichever_default_it_meets()
    {
        Assert.False(new ElasticCommand.Settings { OverloadRate = 50 }.Validate().Successful);
        Assert.False(new ElasticCommand.Settings { Rate = 200 }.Validate().Successful); // above the runners' overload default
        Assert.True(new ElasticCommand.Settings { Rate = 200, WorkerCpuScope = WorkerCpuScope.Process }.Validate().Successful);
    }

    [Fact]
    public void No_limit_needs_no_runner_threads_of_their_own()
    {
        var cluster = ElasticCommand.ToOptions(new ElasticCommand.Settings { WorkerCpuScope = WorkerCpuScope.Runners, WorkerCpu = 0 }).ClusterOptions();

        Assert.Null(cluster.WorkerCpu);
        Assert.DoesNotContain("AsymCdc__Inference__DedicatedThreads", ProcessCluster.SiloEnvironment(cluster, "/models", []).Keys);
    }
}
