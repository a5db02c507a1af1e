using System.Diagnostics;
using System.Net.Sockets;
using System.Text;

namespace AsymCdc.Cli.Cluster;

/// <summary>A <c>redis-server</c> on a loopback port for the membership table. It persists to an append-only file in
/// its folder (fsync on every write), so a restarted Redis comes back with the table the silos wrote.</summary>
public static class RedisServer
{
    public const string Program = "redis-server";

    public static async Task<RedisProcessInfo> StartAsync(string directory, int port, CancellationToken cancellationToken)
    {
        var executable = await FindOrInstallAsync(cancellationToken);
        Directory.CreateDirectory(directory);
        var log = Path.Combine(directory, "redis.log");
        using var process = ChildProcess.Start(executable,
            ["--port", $"{port}", "--bind", "127.0.0.1", "--dir", directory, "--save", "", "--appendonly", "yes", "--appendfsync", "always"],
            log, directory);
        var info = new RedisProcessInfo(process.Id, port, log);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(20));
        try
        {
            while (!await PingAsync(port, timeout.Token))
            {
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"redis-server exited with code {process.ExitCode} on port {port}; see {log}:{Environment.NewLine}{ChildProcess.Tail(log)}");
                }

                await Task.Delay(TimeSpan.FromMilliseconds(50), timeout.Token);
            }
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"redis-server did not answer PING on port {port} within 20 s; see {log}");
        }

        return info;
    }

    /// <summary>True when a Redis on <paramref name="port"/> answers PING.</summary>
    public static async Task<bool> PingAsync(int port, CancellationToken cancellationToken)
    {
        try
        {
            using var client = new TcpClient();
            await client.ConnectAsync("127.0.0.1", port, cancellationToken);
            var stream = client.GetStream();
            await stream.WriteAsync("PING\r\n"u8.ToArray(), cancellationToken);
            var buffer = new byte[16];
            var read = await stream.ReadAsync(buffer, cancellationToken);
            return Encoding.ASCII.GetString(buffer, 0, read).StartsWith("+PONG", StringComparison.Ordinal);
        }
        catch (Exception e) when (e is SocketException or IOException)
        {
            return false;
        }
    }

    /// <summary>The redis-server on PATH; installs the Debian package when there is none (DESIGN: real Redis, no fakes).
    /// A fresh machine's package lists may be empty or stale, so a failed install refreshes them once and tries again.</summary>
    private static async Task<string> FindOrInstallAsync(CancellationToken cancellationToken)
    {
        if (Find() is { } found)
        {
            return found;
        }

        var exit = await AptGetAsync(["install", "-y", "-q", Program], cancellationToken);
        if (Find() is null && exit != 0 && await AptGetAsync(["update", "-q"], cancellationToken) == 0)
        {
            exit = await AptGetAsync(["install", "-y", "-q", Program], cancellationToken);
        }

        return Find() ?? throw new InvalidOperationException(
            $"{Program} is not installed and 'apt-get update && apt-get install -y {Program}' failed (exit {exit}); install Redis and put {Program} on PATH");
    }

    private static async Task<int> AptGetAsync(string[] arguments, CancellationToken cancellationToken)
    {
        using var apt = Process.Start(new ProcessStartInfo("apt-get", arguments) { UseShellExecute = false })
            ?? throw new InvalidOperationException("could not run apt-get");
        await apt.WaitForExitAsync(cancellationToken);
        return apt.ExitCode;
    }

    private static string? Find()
    {
        foreach (var dir in (Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, Program);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }
}
