using AsymCdc.Cli.Cluster;

namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc elastic</c>'s options become the drill's: which CPU limit emulates a worker's capacity.</summary>
public sealed class ElasticSettingsTests
{
    [Fact]
    public void By_default_the_whole_worker_process_is_limited_as_a_pod_would_be()
    {
        var drill = ElasticCommand.ToOptions(new ElasticCommand.Settings());

        Assert.Equal(0.1, drill.WorkerCpu);
        Assert.Equal(350, drill.OverloadRate);
        Assert.Equal(WorkerCpuScope.Process, drill.ClusterOptions().WorkerCpuScope);
    }

    [Fact]
    public void Runners_limits_only_the_threads_that_run_the_models_which_then_have_threads_of_their_own()
    {
        var cluster = ElasticCommand.ToOptions(new ElasticCommand.Settings { WorkerCpuScope = WorkerCpuScope.Runners, WorkerCpu = 0.06 }).ClusterOptions();

        Assert.Equal(WorkerCpuScope.Runners, cluster.WorkerCpuScope);
        Assert.Equal(0.06, cluster.WorkerCpu);
        Assert.Equal("true", ProcessCluster.SiloEnvironment(cluster, "/models", [])["AsymCdc__Inference__DedicatedThreads"]);
    }

    [Fact]
    public void No_limit_needs_no_runner_threads_of_their_own()
    {
        var cluster = ElasticCommand.ToOptions(new ElasticCommand.Settings { WorkerCpuScope = WorkerCpuScope.Runners, WorkerCpu = 0 }).ClusterOptions();

        Assert.Null(cluster.WorkerCpu);
        Assert.DoesNotContain("AsymCdc__Inference__DedicatedThreads", ProcessCluster.SiloEnvironment(cluster, "/models", []).Keys);
    }
}
