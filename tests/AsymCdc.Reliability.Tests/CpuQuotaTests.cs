using AsymCdc.Cli.Cluster;

namespace AsymCdc.Reliability.Tests;

/// <summary>The thread-scoped CPU limit the elastic drill emulates accelerators with, on this machine's real cgroups.</summary>
public sealed class CpuQuotaTests
{
    [Fact]
    public void A_limit_on_named_threads_moves_those_threads_only_and_can_be_read_back()
    {
        var name = $"quota-test-{Guid.NewGuid():N}"[..24];
        const string threadName = "asymcdc-qtest";
        using var stop = new ManualResetEventSlim();
        using var started = new ManualResetEventSlim();
        var tid = 0;
        var thread = new Thread(() =>
        {
            tid = Gettid();
            started.Set();
            stop.Wait();
        }) { IsBackground = true, Name = threadName };
        thread.Start();
        started.Wait();
        try
        {
            Assert.Equal([tid], Processes.ThreadsNamed(Environment.ProcessId, threadName));
            Assert.Equal(OnWritableCgroupV1(), CpuQuota.ThreadLimitUnavailableReason() is null); // what the drill checks first
            if (!OnWritableCgroupV1())
            {
                var refused = Assert.ThrowsAny<Exception>(() => CpuQuota.ApplyToThreads(Environment.ProcessId, name, 0.5, threadName));
                Assert.Contains("cgroup", refused.Message, StringComparison.Ordinal);
                return;
            }

            Assert.Equal(1, CpuQuota.ApplyToThreads(Environment.ProcessId, name, 0.5, threadName));

            Assert.Contains($"/asymcdc/{name}", CpuGroupOf($"/proc/self/task/{tid}/cgroup"), StringComparison.Ordinal);
            Assert.DoesNotContain(name, CpuGroupOf("/proc/self/cgroup"), StringComparison.Ordinal); // the process stays
            Assert.Equal("1000", File.ReadAllText($"/sys/fs/cgroup/cpu/asymcdc/{name}/cpu.cfs_quota_us").Trim());
            Assert.NotNull(CpuQuota.ReadThrottling(name));
        }
        finally
        {
            if (OnWritableCgroupV1())
            {
                // Back to the root group first: a thread that has just ended may still be counted in its group.
                File.WriteAllText("/sys/fs/cgroup/cpu/tasks", tid.ToString(System.Globalization.CultureInfo.InvariantCulture));
            }

            stop.Set();
            thread.Join();
            CpuQuota.Remove(name);
        }

        Assert.Null(CpuQuota.ReadThrottling(name)); // empty, so it could go
    }

    [Fact]
    public void A_limit_on_threads_a_process_does_not_have_names_the_thread_name()
    {
        var refused = Assert.Throws<InvalidOperationException>(
            () => CpuQuota.ApplyToThreads(Environment.ProcessId, "quota-test-none", 0.5, "no-such-thread"));
        Assert.Contains("'no-such-thread'", refused.Message, StringComparison.Ordinal);
        Assert.Null(CpuQuota.ReadThrottling("quota-test-none"));
    }

    private static bool OnWritableCgroupV1() =>
        !File.Exists("/sys/fs/cgroup/cgroup.controllers") && Directory.Exists("/sys/fs/cgroup/cpu") && Environment.UserName == "root";

    /// <summary>The cpu line of a /proc cgroup file (v1: "N:cpu:/path" or "N:cpu,cpuacct:/path").</summary>
    private static string CpuGroupOf(string file) =>
        File.ReadAllLines(file).FirstOrDefault(l => l.Split(':')[1].Split(',').Contains("cpu")) ?? "";

    [System.Runtime.InteropServices.DllImport("libc", EntryPoint = "gettid")]
    private static extern int Gettid();
}
