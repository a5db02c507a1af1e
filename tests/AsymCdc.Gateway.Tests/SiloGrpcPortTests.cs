using AsymCdc.Hosting;

namespace AsymCdc.Gateway.Tests;

/// <summary>A frontend silo's gRPC endpoint setting, AsymCdc:Silo:GrpcPort: checked like the other ports.</summary>
public sealed class SiloGrpcPortTests
{
    [Theory]
    [InlineData(8081, null)]
    [InlineData(0, null)]
    [InlineData(70000, "AsymCdc:Silo:GrpcPort = 70000 is not a TCP port (1..65535, or 0 for off)")]
    [InlineData(8080, "AsymCdc:Silo:GrpcPort (8080) must differ from SiloPort (11111), GatewayPort (30000) and HttpPort (8080); 0 turns gRPC off")]
    public void The_gRPC_port_is_validated_like_the_other_ports(int port, string? expected)
    {
        var result = new SiloOptionsValidator().Validate(null, new SiloOptions { GrpcPort = port });

        Assert.Equal(expected is null, result.Succeeded);
        if (expected is not null)
        {
            Assert.Contains(expected, result.FailureMessage, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void The_gRPC_port_defaults_to_8081() => Assert.Equal(8081, new SiloOptions().GrpcPort);
}
