using System.Runtime.InteropServices;

namespace AsymCdc.Cli.Cluster;

/// <summary>Signals and liveness of processes by pid (Linux). A pid is only ours while its command line still names
/// what we started: a recycled pid is never signalled.</summary>
public static partial class Processes
{
    public const int SigKill = 9;
    public const int SigTerm = 15;
    public const int SigCont = 18;
    public const int SigStop = 19;

    /// <summary>True while <paramref name="pid"/> runs (not a zombie) and its command line contains <paramref name="commandFragment"/>.</summary>
    public static bool IsRunning(int pid, string commandFragment)
    {
        if (pid <= 0)
        {
            return false;
        }

        try
        {
            // /proc/<pid>/stat: "pid (comm) S ..."; a zombie (Z) or dead (X) process has exited.
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            var state = stat[(stat.LastIndexOf(')') + 2)..].FirstOrDefault();
            if (state is 'Z' or 'X')
            {
                return false;
            }

            var cmdline = File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
            // Empty while the process is inside execve (a launcher exec'ing sh -> nice -> dotnet): measured, about 0.4% of
            // reads in the first milliseconds of a launch. A live process with no command line is that, not another program.
            return cmdline.Length == 0 || cmdline.Contains(commandFragment, StringComparison.Ordinal);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    /// <summary>The ids of the threads of <paramref name="pid"/> whose OS name (<c>/proc/PID/task/TID/comm</c>) is
    /// <paramref name="name"/>; empty when the process has gone.</summary>
    public static IReadOnlyList<int> ThreadsNamed(int pid, string name)
    {
        var threads = new List<int>();
        foreach (var tid in ThreadIds(pid))
        {
            try
            {
                if (File.ReadAllText($"/proc/{pid}/task/{tid}/comm").TrimEnd('\n') == name)
                {
                    threads.Add(tid);
                }
            }
            catch (IOException)
            {
                // That thread ended while listed.
            }
        }

        return threads;
    }

    /// <summary>The ids of the threads of <paramref name="pid"/> now (<c>/proc/PID/task</c>); empty when the process has
    /// gone.</summary>
    private static List<int> ThreadIds(int pid)
    {
        var ids = new List<int>();
        try
        {
            foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
            {
                if (int.TryParse(Path.GetFileName(task), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var tid))
                {
                    ids.Add(tid);
                }
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The process ended.
        }

        return ids;
    }

    /// <summary>Sends <paramref name="signal"/> if the process is still ours; false when it was already gone.</summary>
    public static bool Signal(int pid, string commandFragment, int signal) =>
        IsRunning(pid, commandFragment) && Kill(pid, signal) == 0;

    /// <summary>Completes when the process has exited, or returns false after <paramref name="timeout"/>.</summary>
    public static async Task<bool> WaitForExitAsync(int pid, string commandFragment, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        using var poll = new PeriodicTimer(TimeSpan.FromMilliseconds(50));
        var deadline = DateTime.UtcNow + timeout;
        while (IsRunning(pid, commandFragment))
        {
            if (DateTime.UtcNow >= deadline)
            {
                return false;
            }

            await poll.WaitForNextTickAsync(cancellationToken);
        }

        return true;
    }

    /// <summary>SIGTERM, then SIGKILL once <paramref name="grace"/> has passed; returns true when it had to SIGKILL.
    /// Throws when the process survives even SIGKILL.</summary>
    public static async Task<bool> StopAsync(int pid, string commandFragment, TimeSpan grace, CancellationToken cancellationToken = default)
    {
        if (!Signal(pid, commandFragment, SigTerm))
        {
            return false;
        }

        if (await WaitForExitAsync(pid, commandFragment, grace, cancellationToken))
        {
            return false;
        }

        Signal(pid, commandFragment, SigKill);
        if (!await WaitForExitAsync(pid, commandFragment, TimeSpan.FromSeconds(10), cancellationToken))
        {
            throw new InvalidOperationException($"process {pid} ({commandFragment}) is still running 10 s after SIGKILL");
        }

        return true;
    }

    /// <summary>Sets the niceness of every thread of <paramref name="pid"/> (Linux keeps it per thread, so a process-wide
    /// renice is one call per thread). Returns the threads changed; raising priority again needs root.</summary>
    public static int SetNice(int pid, int nice)
    {
        var changed = 0;
        foreach (var tid in ThreadIds(pid))
        {
            if (SetPriority(PrioProcess, tid, nice) == 0)
            {
                changed++;
            }
        }

        return changed;
    }

    private const int PrioProcess = 0;

    [DllImport("libc", EntryPoint = "setpriority", SetLastError = true)]
    private static extern int SetPriority(int which, int who, int prio);

    // .NET has no API that sends SIGTERM (Process.Kill sends SIGKILL), hence libc's kill(2).
    [DllImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static extern int Kill(int pid, int signal);
}
