using System.Text.Json;

namespace AsymCdc.Training.Tests;

/// <summary>After training, a user's classifier declares the data its decoders were measured on, so that eval, bench and
/// demo send it that data; a declaration already there is kept.</summary>
public sealed class DeclareDatasetTests : IDisposable
{
    private readonly string _repository = Directory.CreateTempSubdirectory("asymcdc-declare-").FullName;

    public void Dispose() => Directory.Delete(_repository, recursive: true);

    [Theory]
    [InlineData("digits", "digits")]
    [InlineData("fmnist", "fmnist")]
    public void A_named_data_set_is_written_by_name(string data, string expected)
    {
        Write("""{"name":"m","role":"classifier"}""");

        Assert.Equal(expected, DecoderTrainer.DeclareDataset(_repository, "m", data));
        Assert.Equal(expected, Read().GetProperty("dataset").GetString());
        Assert.Equal("classifier", Read().GetProperty("role").GetString());
    }

    [Fact]
    public void A_folder_inside_the_repository_is_written_relative_to_it_and_one_outside_in_full()
    {
        Write("""{"name":"m"}""");
        var inside = Path.Combine(_repository, "data", "mine");

        Assert.Equal("data/mine", DecoderTrainer.DeclareDataset(_repository, "m", inside));
        Write("""{"name":"m"}""");
        Assert.Equal("/srv/data/mine", DecoderTrainer.DeclareDataset(_repository, "m", "/srv/data/mine"));
    }

    [Fact]
    public void A_declared_data_set_is_kept()
    {
        Write("""{"name":"m","dataset":"digits"}""");

        Assert.Null(DecoderTrainer.DeclareDataset(_repository, "m", "fmnist"));
        Assert.Equal("digits", Read().GetProperty("dataset").GetString());
    }

    [Fact]
    public void Each_installed_decoders_measured_agreement_is_recorded_in_its_config_for_auto()
    {
        foreach (var name in new[] { "m-compact-k2", "m-parm-k2" })
        {
            Directory.CreateDirectory(Path.Combine(_repository, name));
            File.WriteAllText(Path.Combine(_repository, name, "config.json"), $$"""{"name":"{{name}}","k":2}""");
        }

        var evaluation = new AsymCdc.Coding.Evaluation.DegradedModeReport("m", 100, 0.9, 1.0,
        [
            new("compact", 2, 0.88, 0.91234, 0.05, 0.1),
            new("parm", 2, 0.85, 0.87656, 0.0, 0.0),
            new("approxifer", 2, 0.7, 0.75, 0.0, 0.0),
            new("compact", 3, 0.8, 0.83, 0.05, 0.1), // not installed: nothing to write
        ]);

        var written = DecoderTrainer.RecordAgreements(_repository, "m", evaluation);

        Assert.Equal(["m-compact-k2", "m-parm-k2"], written);
        Assert.Equal(0.9123, ReadOf("m-compact-k2").GetProperty("agreement").GetDouble());
        Assert.Equal(0.8766, ReadOf("m-parm-k2").GetProperty("agreement").GetDouble());
        Assert.Equal(2, ReadOf("m-parm-k2").GetProperty("k").GetInt32());
    }

    private JsonElement ReadOf(string name) => JsonDocument.Parse(File.ReadAllText(Path.Combine(_repository, name, "config.json"))).RootElement.Clone();

    private void Write(string json)
    {
        Directory.CreateDirectory(Path.Combine(_repository, "m"));
        File.WriteAllText(Path.Combine(_repository, "m", "config.json"), json);
    }

    private JsonElement Read() => JsonDocument.Parse(File.ReadAllText(Path.Combine(_repository, "m", "config.json"))).RootElement.Clone();
}
