using System.Net;
using System.Net.Sockets;

namespace AsymCdc.Hosting;

public static class FreePorts
{
    private const int ReservedFloor = 20000;

    /// <summary>
    /// Distinct ports, free right now on every address, for silos that bind them later. On Linux they come from below
    /// the kernel's ephemeral range (<c>/proc/sys/net/ipv4/ip_local_port_range</c>), so that nothing bound to port 0
    /// meanwhile (an outbound connection, a silo's start-up rehearsal, <see cref="TakeEphemeral"/>) can take one
    /// before its silo binds it. All are held open together, so none repeats.
    /// </summary>
    public static int[] Take(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        var ephemeralFloor = EphemeralFloor();
        if (ephemeralFloor is not { } ceiling || ceiling - ReservedFloor < 4 * count)
        {
            return TakeEphemeral(count);
        }

        var listeners = new List<TcpListener>(count);
        try
        {
            // A random start, so that two processes taking ports at once rarely probe the same ones.
            var span = ceiling - ReservedFloor;
            var start = Random.Shared.Next(span);
            for (var i = 0; i < span && listeners.Count < count; i++)
            {
                var listener = new TcpListener(IPAddress.Any, ReservedFloor + ((start + i) % span));
                try
                {
                    listener.Start();
                    listeners.Add(listener);
                }
                catch (SocketException)
                {
                    // Taken: try the next.
                }
            }

            return listeners.Count == count ? [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)] : TakeEphemeral(count);
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener.Stop();
            }
        }
    }

    /// <summary>Distinct loopback ports the kernel hands out for port 0 right now, for throwaway use in this process.
    /// All are held open together, so none repeats.</summary>
    public static int[] TakeEphemeral(int count)
    {
        var listeners = new TcpListener[count];
        try
        {
            for (var i = 0; i < count; i++)
            {
                listeners[i] = new TcpListener(IPAddress.Loopback, 0);
                listeners[i].Start();
            }

            return [.. listeners.Select(l => ((IPEndPoint)l.LocalEndpoint).Port)];
        }
        finally
        {
            foreach (var listener in listeners)
            {
                listener?.Stop();
            }
        }
    }

    /// <summary>The lowest port the kernel may hand out for port 0, or null where that is not known.</summary>
    private static int? EphemeralFloor()
    {
        try
        {
            var range = File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            return range.Length == 2 && int.TryParse(range[0], out var low) ? low : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }
}
