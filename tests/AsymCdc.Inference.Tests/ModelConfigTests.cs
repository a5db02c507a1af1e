namespace AsymCdc.Inference.Tests;

/// <summary>config.json validation, on hand-written files (no ONNX involved).</summary>
public sealed class ModelConfigTests : IDisposable
{
    private readonly string _root = Directory.CreateTempSubdirectory("asymcdc-config-").FullName;

    public void Dispose() => Directory.Delete(_root, recursive: true);

    [Fact]
    public void A_compact_decoder_config_loads()
    {
        var config = Load("fmnist-compact-k3", """
            {"name":"fmnist-compact-k3","role":"compact-decoder","platform":"onnxruntime_onnx","max_batch_size":256,"k":3,
             "serves":"fmnist-inn","serves_output":"features","agreement":0.886,
             "inputs":[{"name":"features","data_type":"TYPE_FP32","dims":[-1,48,7,7]}],
             "outputs":[{"name":"logits","data_type":"TYPE_FP32","dims":[-1,10]}]}
            """);

        Assert.Equal(ModelRole.CompactDecoder, config.Role);
        Assert.Equal(3, config.K);
        Assert.Equal(48 * 7 * 7, config.Input.ItemLength);
        Assert.Equal([5L, 48, 7, 7], config.Input.ShapeFor(5));
        Assert.Equal(10, config.Outputs[0].ItemLength);
        Assert.Equal("fmnist-inn", config.Serves);
        Assert.Equal("features", config.ServesOutput);
        Assert.Equal(0.886, config.Agreement);
    }

    [Fact]
    public void A_companion_must_name_its_classifier_and_names_must_be_safe()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => Load("fmnist-parm-k2", """
            {"name":"fmnist-parm-k2","role":"parity-model","platform":"onnxruntime_onnx","max_batch_size":8,"k":2,"encoder":"xor",
             "aliases":["a/b"],"agreement":1.2,
             "inputs":[{"name":"input","data_type":"TYPE_FP32","dims":[-1,784],"range":[1,0]}],
             "outputs":[{"name":"logits","data_type":"TYPE_FP32","dims":[-1,10]}]}
            """));

        Assert.Contains("role 'parity-model' needs 'serves'", error.Message);
        Assert.Contains("encoder 'xor' is not 'sum'", error.Message);
        Assert.Contains("alias 'a/b' is not a model name", error.Message);
        Assert.Contains("agreement 1.2 must be a fraction in [0, 1]", error.Message);
        Assert.Contains("input 'input' range [1,0] must be [min, max]", error.Message);
    }

    [Fact]
    public void Every_problem_of_a_bad_config_is_named()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => Load("fmnist-parm-k2", """
            {"name":"fmnist-parm-k2","role":"parity","platform":"tensorflow","max_batch_size":0,
             "inputs":[{"name":"input","data_type":"TYPE_FP16","dims":[1,28,28]}],
             "outputs":[]}
            """));

        Assert.Equal("fmnist-parm-k2", error.ModelName);
        Assert.Contains("role 'parity' is not one of classifier, inverse, compact-decoder, parity-model", error.Message);
        Assert.Contains("platform 'tensorflow' is not 'onnxruntime_onnx'", error.Message);
        Assert.Contains("max_batch_size is 0", error.Message);
        Assert.Contains("declares no outputs", error.Message);
        Assert.Contains("input 'input' has data_type 'TYPE_FP16'", error.Message);
        Assert.Contains("input 'input' dims [1,28,28] must start with -1", error.Message);
    }

    [Fact]
    public void A_parity_model_without_k_is_invalid()
    {
        var error = Assert.Throws<ModelRepositoryException>(() => Load("fmnist-parm-k2", """
            {"name":"fmnist-parm-k2","role":"parity-model","platform":"onnxruntime_onnx","max_batch_size":8,
             "inputs":[{"name":"input","data_type":"TYPE_FP32","dims":[-1,1,28,28]}],
             "outputs":[{"name":"logits","data_type":"TYPE_FP32","dims":[-1,10]}]}
            """));

        Assert.Contains("role 'parity-model' needs k between 2 and 16 (got none)", error.Message);
    }

    [Fact]
    public void Malformed_json_and_a_missing_file_are_named()
    {
        var json = Assert.Throws<ModelRepositoryException>(() => Load("broken", "{\"name\": "));
        Assert.Contains("is not valid JSON", json.Message);

        var missing = Assert.Throws<ModelRepositoryException>(() => ModelConfig.Load(Path.Combine(_root, "absent")));
        Assert.Contains("config.json' does not exist", missing.Message);
    }

    [Fact]
    public void ModelNames_follow_the_repository_layout()
    {
        Assert.Equal("fmnist-compact-k4", ModelNames.Compact(4));
        Assert.Equal("fmnist-parm-k2", ModelNames.Parm(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelNames.Compact(5));
        Assert.Throws<ArgumentOutOfRangeException>(() => ModelNames.Parm(3));
    }

    private ModelConfig Load(string folder, string json)
    {
        var dir = Path.Combine(_root, folder);
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "config.json"), json);
        return ModelConfig.Load(dir);
    }
}
