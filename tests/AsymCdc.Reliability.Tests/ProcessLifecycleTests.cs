using AsymCdc.Hosting;
using System.Diagnostics;
using AsymCdc.Cli.Cluster;
using AsymCdc.Inference;

namespace AsymCdc.Reliability.Tests;

/// <summary>Start-up and shut-down of real processes: <c>cluster up</c>/<c>down</c> leaves nothing running, and a silo
/// that cannot start exits at once with a non-zero code and a message naming the cause.</summary>
public sealed class ProcessLifecycleTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_process_being_launched_counts_as_running_while_it_execs()
    {
        // ChildProcess execs sh -> nice -> the program; inside each execve /proc/<pid>/cmdline reads empty for an
        // instant. Judged by its command line then, a healthy silo looked dead ("exited before it was ready").
        var log = Path.Combine(Path.GetTempPath(), $"asymcdc-exec-{Guid.NewGuid():N}.log");
        var misjudged = 0;
        try
        {
            for (var launch = 0; launch < 20; launch++)
            {
                using var process = ChildProcess.Start("sleep", ["0.2"], log, Path.GetTempPath(), nice: 1);
                var watched = Stopwatch.StartNew();
                while (watched.ElapsedMilliseconds < 50)
                {
                    var running = Processes.IsRunning(process.Id, "sleep");
                    if (!running && !process.HasExited)
                    {
                        misjudged++;
                    }
                }

                await process.WaitForExitAsync();
            }
        }
        finally
        {
            File.Delete(log);
        }

        Assert.Equal(0, misjudged);
    }

    [Fact]
    public void A_silo_gets_the_shipped_runtime_settings_and_none_inherited_from_the_drill()
    {
        var options = new ProcessClusterOptions();
        options.Settings["AsymCdc:Serving:K"] = "3";

        var environment = ProcessCluster.SiloEnvironment(options, "/models", ["DOTNET_TieredPGO", "DOTNET_ROOT", "PATH"]);

        Assert.Null(environment["DOTNET_TieredPGO"]); // removed from what the child inherits
        Assert.DoesNotContain("DOTNET_ROOT", environment.Keys);
        Assert.DoesNotContain("PATH", environment.Keys);
        Assert.Equal("3", environment["AsymCdc__Serving__K"]);
        Assert.Equal(SiloRuntimeEnvironment.Variables.OrderBy(v => v.Key),
            environment.Where(e => SiloRuntimeEnvironment.IsRuntimeSetting(e.Key) && e.Value is not null).Select(e => KeyValuePair.Create(e.Key, e.Value!)).OrderBy(v => v.Key));
    }

    [Fact]
    public async Task Cluster_up_then_down_leaves_no_process_running()
    {
        var runDirectory = Path.Combine(Path.GetTempPath(), $"asymcdc-updown-{Guid.NewGuid():N}");
        var options = new ProcessClusterOptions
        {
            Frontends = 1,
            Workers = 1,
            RunDirectory = runDirectory,
            ModelRepository = TestEnvironment.ModelRepository,
            DrainTimeout = TimeSpan.FromSeconds(2),
        };
        var cluster = await ProcessCluster.StartAsync(options);
        int[] pids = [cluster.State.Redis!.Pid, .. cluster.State.Silos.Select(s => s.Pid)];
        try
        {
            Assert.Equal(3, cluster.RunningPids().Count);
            Assert.All(await cluster.StatusAsync(), s => Assert.True(s.Ready, $"{s.Silo.Name} is not ready"));
            // The silos run with the runtime settings that ship (the image's and the chart's), none of the drill's own.
            Assert.All(cluster.State.Silos, s =>
            {
                var runtime = File.ReadAllText($"/proc/{s.Pid}/environ").Split('\0')
                    .Where(SiloRuntimeEnvironment.IsRuntimeSetting).Order();
                Assert.Equal(SiloRuntimeEnvironment.Variables.Select(v => $"{v.Key}={v.Value}").Order(), runtime);
            });
            // `cluster down` from another process works from the state file alone.
            Assert.NotNull(ProcessCluster.Attach(runDirectory));
        }
        finally
        {
            var killed = await ProcessCluster.Attach(runDirectory)!.DownAsync();
            Assert.Empty(killed); // every process stopped on SIGTERM, frontends drained
        }

        Assert.All(pids, pid => Assert.False(Processes.IsRunning(pid, "")));
        Assert.Null(ProcessCluster.Attach(runDirectory));
        Assert.False(await RedisServer.PingAsync(cluster.State.Redis.Port, CancellationToken.None));
    }

    [Fact]
    public async Task Chaos_stopped_by_SIGTERM_while_its_cluster_starts_leaves_no_process_running()
    {
        // The drill's exit hook stopped only a cluster it had finished starting: SIGTERM during the start left Redis and
        // every silo launched so far running.
        var runDirectory = Path.Combine(Path.GetTempPath(), $"asymcdc-chaos-term-{Guid.NewGuid():N}");
        var log = runDirectory + ".log";
        using var chaos = ChildProcess.Start("dotnet",
            [TestEnvironment.CliDll(), "chaos", "--workers", "2", "--queries", "10",
                "--run-dir", runDirectory, "--models", TestEnvironment.ModelRepository],
            log, AppContext.BaseDirectory);
        int[] pids = [];
        try
        {
            await TestEnvironment.WaitUntilAsync(() => chaos.HasExited || ClusterState.TryLoad(runDirectory) is { Redis: not null, Silos.Count: 3 },
                "the drill launched Redis and its three silos", ExitTimeout);
            Assert.False(chaos.HasExited, $"the drill ended before its cluster started: {File.ReadAllText(log)}");
            var state = ClusterState.TryLoad(runDirectory)!;
            pids = [state.Redis!.Pid, .. state.Silos.Select(s => s.Pid)];
            Assert.Contains(pids, pid => Processes.IsRunning(pid, ""));

            Assert.True(Processes.Signal(chaos.Id, "", Processes.SigTerm));
            using var exited = new CancellationTokenSource(ExitTimeout);
            await chaos.WaitForExitAsync(exited.Token);

            Assert.All(pids, pid => Assert.False(Processes.IsRunning(pid, ""), $"pid {pid} outlived the drill; see {log}"));
        }
        finally
        {
            if (ProcessCluster.Attach(runDirectory) is { } left)
            {
                await left.DownAsync();
            }
        }
    }

    [Fact]
    public async Task A_silo_whose_redis_is_unreachable_exits_non_zero_naming_the_connection_string()
    {
        var redisPort = FreePorts.Take(1)[0]; // nothing listens there
        var connectionString = $"127.0.0.1:{redisPort}";

        var (exitCode, output) = await RunSiloAsync(TestEnvironment.ModelRepository, new()
        {
            ["AsymCdc__Silo__Clustering"] = "redis",
            ["AsymCdc__Silo__RedisConnectionString"] = connectionString,
        });

        Assert.NotEqual(0, exitCode);
        Assert.Contains($"cannot reach Redis at '{connectionString}'", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_with_a_corrupt_model_file_exits_non_zero_naming_the_model()
    {
        var repository = Path.Combine(Path.GetTempPath(), $"asymcdc-corrupt-{Guid.NewGuid():N}");
        CopyDirectory(TestEnvironment.ModelRepository, repository);
        try
        {
            var onnx = Path.Combine(repository, ModelNames.Classifier, "1", "model.onnx");
            var bytes = await File.ReadAllBytesAsync(onnx);
            await File.WriteAllBytesAsync(onnx, bytes.AsSpan(0, bytes.Length / 3).ToArray()); // a truncated download

            var (exitCode, output) = await RunSiloAsync(repository, []);

            Assert.NotEqual(0, exitCode);
            Assert.Contains(ModelNames.Classifier, output, StringComparison.Ordinal);
            Assert.Contains("asymcdc-silo: start-up failed", output, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(repository, recursive: true);
        }
    }

    /// <summary>Runs one silo (both roles, localhost clustering unless overridden) and waits for it to exit by itself.</summary>
    private static async Task<(int ExitCode, string Output)> RunSiloAsync(string repository, Dictionary<string, string> settings)
    {
        var ports = FreePorts.Take(4);
        var start = new ProcessStartInfo("dotnet", [SiloLocator.Find()])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = Path.GetDirectoryName(SiloLocator.Find())!,
        };
        start.Environment["AsymCdc__Inference__ModelRepository"] = repository;
        start.Environment["AsymCdc__Silo__SiloPort"] = $"{ports[0]}";
        start.Environment["AsymCdc__Silo__GatewayPort"] = $"{ports[1]}";
        start.Environment["AsymCdc__Silo__HttpPort"] = $"{ports[2]}";
        start.Environment["AsymCdc__Silo__GrpcPort"] = $"{ports[3]}";
        foreach (var (key, value) in settings)
        {
            start.Environment[key] = value;
        }

        using var silo = Process.Start(start)!;
        var stdout = silo.StandardOutput.ReadToEndAsync();
        var stderr = silo.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(ExitTimeout);
        try
        {
            await silo.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            silo.Kill();
            Assert.Fail($"the silo did not exit within {ExitTimeout.TotalSeconds} s (it hangs instead of failing):{Environment.NewLine}{await stdout}{await stderr}");
        }

        return (silo.ExitCode, await stdout + await stderr);
    }

    private static void CopyDirectory(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}
