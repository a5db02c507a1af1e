using System.Net;
using System.Net.Sockets;
using AsymCdc.Hosting;

namespace AsymCdc.Reliability.Tests;

public sealed class FreePortsTests
{
    [Fact]
    public void Ports_for_silos_are_distinct_bindable_and_out_of_reach_of_port_0()
    {
        var ports = FreePorts.Take(12);

        Assert.Equal(12, ports.Distinct().Count());
        var ephemeralFloor = int.Parse(File.ReadAllText("/proc/sys/net/ipv4/ip_local_port_range").Split((char[]?)null,
            StringSplitOptions.RemoveEmptyEntries)[0]);
        Assert.All(ports, port => Assert.InRange(port, 1024, ephemeralFloor - 1));
        // Many sockets bound to port 0 meanwhile (outbound connections, a silo's start-up rehearsal) take none of them.
        var throwaway = Enumerable.Range(0, 200).Select(_ => FreePorts.TakeEphemeral(1)[0]).ToHashSet();
        Assert.Empty(throwaway.Intersect(ports));
        foreach (var port in ports)
        {
            var listener = new TcpListener(IPAddress.Any, port);
            listener.Start();
            listener.Stop();
        }
    }
}
