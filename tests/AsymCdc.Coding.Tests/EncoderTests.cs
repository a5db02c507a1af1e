using System.Runtime.CompilerServices;
using FsCheck.Xunit;

namespace AsymCdc.Coding.Tests;

[Properties(Arbitrary = [typeof(CodingArbitraries)])]
public sealed class EncoderTests
{
    private const float Tolerance = 1e-4f;

    [Fact]
    public void Mean_of_a_hand_worked_group()
    {
        float[] members = [1, 2, 3, /**/ 3, 4, 5, /**/ 5, 0, -2];
        var parity = new float[3];

        MeanEncoder.Encode(members, 3, 3, parity);

        Assert.Equal([3f, 2f, 2f], parity);
    }

    [Fact]
    public void Sum_of_a_hand_worked_group()
    {
        float[] members = [1, 2, /**/ 3, 4];
        var parity = new float[2];

        SumEncoder.Encode(members, 2, 2, parity);

        Assert.Equal([4f, 6f], parity);
    }

    [Property]
    public bool Mean_of_identical_members_is_the_member(Group group)
    {
        var members = new float[group.K * group.Length];
        for (var i = 0; i < group.K; i++)
        {
            group.Member(0).CopyTo(members.AsSpan(i * group.Length));
        }

        var parity = new float[group.Length];
        MeanEncoder.Encode(members, group.K, group.Length, parity);

        return Close(parity, group.Member(0));
    }

    [Property]
    public bool Mean_is_linear(Group x, float a, float b)
    {
        // Mean(a·X + b·Y) = a·Mean(X) + b·Mean(Y), with Y the members reversed.
        var y = x.Members.Reverse().ToArray();
        var combined = new float[x.Members.Length];
        for (var i = 0; i < combined.Length; i++)
        {
            combined[i] = a * x.Members[i] + b * y[i];
        }

        var meanX = new float[x.Length];
        var meanY = new float[x.Length];
        var meanCombined = new float[x.Length];
        MeanEncoder.Encode(x.Members, x.K, x.Length, meanX);
        MeanEncoder.Encode(y, x.K, x.Length, meanY);
        MeanEncoder.Encode(combined, x.K, x.Length, meanCombined);

        var expected = new float[x.Length];
        for (var i = 0; i < expected.Length; i++)
        {
            expected[i] = a * meanX[i] + b * meanY[i];
        }

        return Close(meanCombined, expected, tolerance: 1e-3f);
    }

    [Property]
    public bool Mean_times_k_is_the_sum(Group group)
    {
        var mean = new float[group.Length];
        var sum = new float[group.Length];
        MeanEncoder.Encode(group.Members, group.K, group.Length, mean);
        SumEncoder.Encode(group.Members, group.K, group.Length, sum);

        for (var i = 0; i < mean.Length; i++)
        {
            mean[i] *= group.K;
        }

        return Close(mean, sum);
    }

    [Property]
    public bool A_group_of_one_encodes_to_the_member(Group group)
    {
        var parity = new float[group.Length];
        MeanEncoder.Encode(group.Member(0), 1, group.Length, parity);
        return parity.AsSpan().SequenceEqual(group.Member(0));
    }

    [Fact]
    public void Count_below_one_is_rejected_by_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => MeanEncoder.Encode(new float[4], 0, 4, new float[4]));
        Assert.Equal("count", error.ParamName);
        Assert.Contains(">= 1", error.Message);
    }

    [Fact]
    public void Members_of_the_wrong_length_are_rejected_with_the_arithmetic()
    {
        var error = Assert.Throws<ArgumentException>(() => MeanEncoder.Encode(new float[7], 2, 4, new float[4]));
        Assert.Equal("members", error.ParamName);
        Assert.Contains("7 floats", error.Message);
        Assert.Contains("2 × 4 = 8", error.Message);
    }

    [Fact]
    public void A_parity_of_the_wrong_length_is_rejected()
    {
        var error = Assert.Throws<ArgumentException>(() => SumEncoder.Encode(new float[8], 2, 4, new float[5]));
        Assert.Equal("parity", error.ParamName);
        Assert.Contains("5 floats", error.Message);
    }

    [Fact]
    public void A_parity_overlapping_the_members_is_rejected()
    {
        var buffer = new float[12];
        var error = Assert.Throws<ArgumentException>(() => MeanEncoder.Encode(buffer.AsSpan(0, 8), 2, 4, buffer.AsSpan(4, 4)));
        Assert.Contains("overlaps", error.Message);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Encoders_allocate_nothing_per_group(int k)
    {
        const int length = 784;
        var members = new float[k * length];
        for (var i = 0; i < members.Length; i++)
        {
            members[i] = i % 255 / 255f;
        }

        var parity = new float[length];
        // The measured loops are compiled optimized at their first call (the warm-up), so no tiering or on-stack
        // replacement runs while they are measured.
        EncodeMean(members, k, length, parity, 100);
        EncodeOthers(members, k, length, parity, 100);

        var before = GC.GetAllocatedBytesForCurrentThread();
        EncodeMean(members, k, length, parity, 10_000);
        var mean = GC.GetAllocatedBytesForCurrentThread() - before;

        before = GC.GetAllocatedBytesForCurrentThread();
        EncodeOthers(members, k, length, parity, 10_000);
        var others = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(0, mean);
        Assert.Equal(0, others);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EncodeMean(float[] members, int k, int length, float[] parity, int times)
    {
        for (var i = 0; i < times; i++)
        {
            MeanEncoder.Encode(members, k, length, parity);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void EncodeOthers(float[] members, int k, int length, float[] parity, int times)
    {
        for (var i = 0; i < times; i++)
        {
            SumEncoder.Encode(members, k, length, parity);
            BerrutEncoder.Encode(members, k, length, parity);
        }
    }

    internal static bool Close(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected, float tolerance = Tolerance)
    {
        if (actual.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < actual.Length; i++)
        {
            if (MathF.Abs(actual[i] - expected[i]) > tolerance * MathF.Max(1f, MathF.Abs(expected[i])))
            {
                return false;
            }
        }

        return true;
    }
}
